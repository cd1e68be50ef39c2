package org.hermod.api.bounce;

/**
 * A synchronous delivery failure to classify.
 *
 * @param kind what failed: a remote reply, or a connection-level failure
 * @param code the SMTP reply code, or 0 when there was no reply
 * @param enhancedStatus the RFC 3463 code from the reply (e.g. {@code 5.1.1}), or null
 * @param text the reply text (all lines joined), or a description of the connection failure
 * @param mxHost the remote host, or null
 * @param domain the recipient's domain, or null
 */
public record FailureInput(Kind kind, int code, String enhancedStatus, String text, String mxHost, String domain) {

    public FailureInput {
        text = text == null ? "" : text;
    }

    /** A remote reply. */
    public static FailureInput reply(int code, String enhancedStatus, String text, String mxHost, String domain) {
        return new FailureInput(Kind.REPLY, code, enhancedStatus, text, mxHost, domain);
    }

    public enum Kind {
        /** The remote server replied with a non-2xx code. */
        REPLY,
        /** TCP connection refused or reset. */
        CONNECTION_REFUSED,
        /** Connect, greeting, command or data timed out. */
        TIMEOUT,
        /** TLS handshake failed or was required and not offered. */
        TLS_FAILURE,
        /** DNS lookup failed (NXDOMAIN, SERVFAIL, null MX, no address). */
        DNS_FAILURE,
        /** The message stayed queued past its maximum age. */
        EXPIRED,
        /** Anything else that went wrong locally. */
        OTHER
    }
}
