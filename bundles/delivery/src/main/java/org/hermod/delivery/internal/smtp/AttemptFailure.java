package org.hermod.delivery.internal.smtp;

import org.hermod.api.SmtpReply;
import org.hermod.api.bounce.FailureInput;

/**
 * Why a connection (or a whole transaction) failed before per-recipient replies were known.
 *
 * @param reply the remote reply, or a locally made one describing a connection-level failure
 * @param kind what failed, for the bounce classifier
 * @param mxHost the host tried last, or null
 * @param mxAddress its IP address, or null
 * @param tls the TLS outcome of the attempt (e.g. a refused certificate), or null
 */
public record AttemptFailure(SmtpReply reply, FailureInput.Kind kind, String mxHost, String mxAddress,
                             org.hermod.api.delivery.DeliveryTls tls) {

    public AttemptFailure(SmtpReply reply, FailureInput.Kind kind, String mxHost, String mxAddress) {
        this(reply, kind, mxHost, mxAddress, null);
    }

    public boolean isPermanent() {
        return reply.isPermanent();
    }
}
