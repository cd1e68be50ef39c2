package org.hermod.api.bounce;

import java.util.List;

/**
 * What an incoming message to the bounce domain turned out to be.
 *
 * @param kind bounce, delay notice, complaint, auto-reply, positive DSN or unrecognised
 * @param queueId the queue id of the original message (from the VERP return path or the bounce), or null
 * @param feedbackType for complaints, the ARF Feedback-Type ({@code abuse}, {@code opt-out}, ...), else null
 * @param recipients the failed recipients (for complaints: the complaining recipient), in the bounce's order
 * @param error a description of what went wrong while parsing, or null; parsing never throws
 */
public record BounceReport(Kind kind, String queueId, String feedbackType, List<BouncedRecipient> recipients,
                           String error) {

    public BounceReport {
        recipients = List.copyOf(recipients == null ? List.of() : recipients);
    }

    public enum Kind {
        /** A delivery failure report (RFC 3464 DSN or a non-standard bounce). */
        BOUNCE,
        /** A delay notice ({@code Action: delayed}); temporary, nothing to suppress. */
        DELAY,
        /** An ARF (RFC 5965) feedback report: a complaint, not a bounce. */
        COMPLAINT,
        /** An auto-reply (RFC 3834, vacation, out-of-office): not a bounce. */
        AUTO_REPLY,
        /** A positive DSN ({@code Action: delivered/relayed/expanded}): not a bounce. */
        DELIVERED,
        /** Nothing recognisable. */
        UNKNOWN
    }

    /** True for {@link Kind#BOUNCE} and {@link Kind#DELAY}. */
    public boolean isBounce() {
        return kind == Kind.BOUNCE || kind == Kind.DELAY;
    }
}
