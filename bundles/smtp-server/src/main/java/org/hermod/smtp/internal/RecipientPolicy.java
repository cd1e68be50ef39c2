package org.hermod.smtp.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;

/**
 * What the session asks beyond relay control: refusals for single recipients (e.g. suppressed addresses), and mail
 * addressed to Hermod itself (asynchronous bounces to the VERP bounce domain). Implementations must not block in
 * {@link #refusal} or {@link #isLocalDomain}; {@link #acceptBounce} runs its work off the event loop.
 */
interface RecipientPolicy {

    /** A domain Hermod accepts mail for from anyone because it processes that mail itself. */
    boolean isLocalDomain(String domain);

    /** A complete reply line (e.g. "550 5.1.1 ...") refusing this recipient, or null to accept it. */
    String refusal(MailAddress recipient);

    /** Whether this accepted message is bounce input rather than mail to relay. */
    boolean isBounceInput(Envelope envelope);

    /** Processes bounce input; completes with the reply line to give the client. */
    CompletionStage<String> acceptBounce(Envelope envelope, byte[] content);

    /** No suppression, no bounce domain. */
    RecipientPolicy NONE = new RecipientPolicy() {
        @Override
        public boolean isLocalDomain(String domain) {
            return false;
        }

        @Override
        public String refusal(MailAddress recipient) {
            return null;
        }

        @Override
        public boolean isBounceInput(Envelope envelope) {
            return false;
        }

        @Override
        public CompletionStage<String> acceptBounce(Envelope envelope, byte[] content) {
            return CompletableFuture.completedFuture("554 5.3.0 Bounce processing is not available");
        }
    };
}
