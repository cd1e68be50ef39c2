package org.hermod.api.spool;

import java.util.Objects;

import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;

/**
 * The outcome of one delivery attempt for one recipient.
 *
 * @param recipient the recipient
 * @param status delivered, failed (permanent) or deferred (temporary)
 * @param reply the remote reply, or a locally made one for connection-level failures
 * @param remoteMta the host that gave the reply, or null
 */
public record RecipientResult(Recipient recipient, Status status, SmtpReply reply, String remoteMta) {

    public RecipientResult {
        Objects.requireNonNull(recipient, "recipient");
        Objects.requireNonNull(status, "status");
    }

    public enum Status { DELIVERED, FAILED, DEFERRED }
}
