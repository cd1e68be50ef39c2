package org.hermod.api.filter;

import java.util.Map;
import java.util.concurrent.CompletionStage;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.routing.Route;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A snapshot of the filters in force, what the SMTP server and delivery call. Filters installed or removed later do
 * not change a snapshot: a session takes one per transaction, so a transaction finishes with the filters it started
 * with. Calls never run filters on the caller's thread; the stages complete on a filter thread with the merged
 * decision of the stage's filters in ranking order (a final action stops the stage; route changes accumulate). A
 * filter that throws or runs past its budget yields a DEFER (or REJECT, per {@link FilterProperties#ON_FAILURE}); the
 * returned stages never complete exceptionally.
 */
@ProviderType
public interface FilterChain {

    /** The stages a call can be made for. */
    enum Stage { CONNECT, MAIL, RCPT, DATA, PRE_DELIVERY }

    /** True when at least one enabled filter serves the stage; callers may skip the call (and its thread hop) if not. */
    boolean has(Stage stage);

    CompletionStage<FilterDecision> connect(SessionInfo session);

    CompletionStage<FilterDecision> mail(SessionInfo session, MailAddress sender, Map<String, String> parameters);

    CompletionStage<FilterDecision> rcpt(SessionInfo session, MailAddress sender, Recipient recipient);

    /**
     * The MAIL stage and the first recipient's RCPT stage as one call (one hand-off to a filter thread instead of two),
     * for a server that runs MAIL filters when the first recipient comes, as Postfix's {@code smtpd_delay_reject}
     * does. The MAIL filters run first, with the MAIL stage's own rules (a final action ends it); the RCPT filters
     * then run as {@link #rcpt} would, unless the MAIL stage refused the transaction (reject or defer).
     *
     * @since 1.1
     */
    CompletionStage<MailAndRcpt> mailAndRcpt(SessionInfo session, MailAddress sender, Map<String, String> parameters,
                                             Recipient recipient);

    /**
     * The decisions of {@link #mailAndRcpt}.
     *
     * @param mail the MAIL stage's merged decision
     * @param rcpt the RCPT stage's merged decision; null when the MAIL stage refused (its reject or defer answers)
     */
    record MailAndRcpt(FilterDecision mail, FilterDecision rcpt) {
    }

    /**
     * The end-of-data stage.
     *
     * @param route the route decided at MAIL and RCPT
     * @param content the whole message, CRLF, dot-unstuffed
     */
    CompletionStage<DataOutcome> data(SessionInfo session, Envelope envelope, Route route, byte[] content);

    CompletionStage<FilterDecision> beforeDelivery(String queueId, Envelope envelope, Route route, int attempts);

    /**
     * The merged outcome of the end-of-data stage.
     *
     * @param decision the final action (CONTINUE when no filter ended the stage) and its reply or hold reason
     * @param envelope the envelope with recipients as changed by the filters
     * @param route the route with every filter's change applied
     * @param content the content with header changes applied (the same array when nothing changed)
     */
    record DataOutcome(FilterDecision decision, Envelope envelope, Route route, byte[] content) {
    }
}
