package org.hermod.delivery.internal.dsn;

import java.time.Instant;

import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;

/**
 * One recipient block of a delivery status notification.
 *
 * @param recipient the recipient (address, ORCPT)
 * @param action {@code failed} or {@code delayed}
 * @param status RFC 3463 status, e.g. {@code 5.1.1}
 * @param remoteMta the remote host that answered, or null
 * @param diagnostic the remote (or locally made) reply, or null
 * @param lastAttempt when it was last tried, or null
 * @param willRetryUntil for {@code delayed}: when delivery attempts stop (RFC 3464 2.3.9 Will-Retry-Until), or null
 */
public record DsnRecipient(Recipient recipient, String action, String status, String remoteMta, SmtpReply diagnostic,
                           Instant lastAttempt, Instant willRetryUntil) {

    /** Without Will-Retry-Until (failure reports). */
    public DsnRecipient(Recipient recipient, String action, String status, String remoteMta, SmtpReply diagnostic,
                        Instant lastAttempt) {
        this(recipient, action, status, remoteMta, diagnostic, lastAttempt, null);
    }

    /** The status to report for a reply: its enhanced code, or one derived from the reply class. */
    public static String statusOf(SmtpReply reply) {
        if (reply == null) {
            return "5.0.0";
        }
        if (reply.enhancedStatus() != null) {
            return reply.enhancedStatus();
        }
        return reply.code() >= 500 ? "5.0.0" : reply.code() >= 400 ? "4.0.0" : "2.0.0";
    }
}
