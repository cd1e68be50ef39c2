package org.hermod.delivery.internal.smtp;

import org.hermod.api.bounce.FailureInput;
import org.hermod.api.spool.RecipientResult;

/**
 * The result of one attempt for one recipient, with what the accounting log and the classifier need.
 *
 * @param result the result reported to the spool
 * @param kind what kind of failure it was (REPLY for remote replies); ignored when delivered
 * @param mxHost the host that gave the reply, or null
 * @param mxAddress its IP address, or null
 * @param tls the TLS outcome of the connection used (or tried), or null when none was
 */
public record RecipientOutcome(RecipientResult result, FailureInput.Kind kind, String mxHost, String mxAddress,
                               org.hermod.api.delivery.DeliveryTls tls) {

    public RecipientOutcome(RecipientResult result, FailureInput.Kind kind, String mxHost, String mxAddress) {
        this(result, kind, mxHost, mxAddress, null);
    }

    /** The same outcome with the TLS outcome of its connection. */
    public RecipientOutcome withTls(org.hermod.api.delivery.DeliveryTls t) {
        return new RecipientOutcome(result, kind, mxHost, mxAddress, t);
    }
}
