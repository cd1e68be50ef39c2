package org.hermod.api.shaping;

import java.time.Instant;
import java.util.Objects;

/**
 * The outcome of one delivery attempt on a path, as delivery reports it to shaping (every attempt, in order per path).
 *
 * @param path where it went
 * @param site the destination site
 * @param domain the recipient domain
 * @param time when the outcome was known
 * @param result what happened
 * @param code the SMTP reply code, 0 when there was none (connection-level failure)
 * @param enhancedStatus the RFC 3463 code of the reply, or null
 * @param text the reply text, or a description of a connection-level failure
 * @param category the bounce classifier's category for a failure, or null
 */
public record Feedback(EgressPath path, Site site, String domain, Instant time, Result result, int code,
                       String enhancedStatus, String text, String category) {

    public Feedback {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(site, "site");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(result, "result");
        text = text == null ? "" : text;
    }

    /** What an attempt came to. */
    public enum Result {
        /** Accepted by the receiver. */
        DELIVERED,
        /** A temporary refusal (4xx). */
        DEFERRED,
        /** A permanent refusal (5xx). */
        FAILED,
        /** No SMTP conversation: refused, timed out, TLS or DNS failure. */
        CONNECTION_FAILED
    }

    /** The reply as one line, e.g. {@code 421 4.7.0 [TSS04] Messages from ... temporarily deferred}. */
    public String replyLine() {
        return (code == 0 ? "" : code + " ") + (enhancedStatus == null ? "" : enhancedStatus + " ") + text;
    }
}
