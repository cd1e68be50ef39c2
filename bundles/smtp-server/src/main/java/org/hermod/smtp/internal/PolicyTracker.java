package org.hermod.smtp.internal;

import java.util.concurrent.CompletionStage;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.osgi.service.component.annotations.Component;

/**
 * The session's {@link RecipientPolicy}, backed by whatever optional services are present at the time of each call.
 */
@Component(service = PolicyTracker.class)
public final class PolicyTracker implements RecipientPolicy {

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
        return NONE.acceptBounce(envelope, content);
    }
}
