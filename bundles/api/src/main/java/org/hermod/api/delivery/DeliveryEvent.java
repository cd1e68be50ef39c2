package org.hermod.api.delivery;

import java.time.Instant;

import org.hermod.api.SmtpReply;
import org.hermod.api.spool.RecipientResult;

/**
 * One delivery attempt for one recipient, as written to the accounting log and given to {@link DeliveryListener}s.
 *
 * @param time when the outcome was known
 * @param queueId the message
 * @param sender envelope sender (empty for bounces)
 * @param recipient the recipient
 * @param domain destination domain
 * @param mxHost the MX host tried, or null when none was reached
 * @param mxAddress the IP address connected to, or null
 * @param reply the reply (remote, or made locally for connection-level failures)
 * @param outcome delivered, failed or deferred
 * @param attempt the attempt number, 1-based
 * @param category bounce category when the attempt failed and a classifier was available, else null
 * @param ruleId the classifier rule that decided the category, or null
 * @param tls the TLS outcome of the attempt, or null when no connection was tried (DNS failure, suppression, expiry)
 */
public record DeliveryEvent(Instant time, String queueId, String sender, String recipient, String domain,
                            String mxHost, String mxAddress, SmtpReply reply, RecipientResult.Status outcome,
                            int attempt, String category, String ruleId, DeliveryTls tls) {

    /** An event without TLS information. */
    public DeliveryEvent(Instant time, String queueId, String sender, String recipient, String domain, String mxHost,
                         String mxAddress, SmtpReply reply, RecipientResult.Status outcome, int attempt, String category,
                         String ruleId) {
        this(time, queueId, sender, recipient, domain, mxHost, mxAddress, reply, outcome, attempt, category, ruleId, null);
    }
}
