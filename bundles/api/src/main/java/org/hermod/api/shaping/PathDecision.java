package org.hermod.api.shaping;

import java.time.Instant;
import java.util.Objects;

/**
 * What a strategy says for one path now.
 *
 * @param limits the limits in force (at most the configured ones for an adaptive strategy)
 * @param suspendedUntil no new connections before this instant, or null when not suspended
 * @param because why the limits differ from the configured ones, or null when they do not
 * @param divertToPool mail that would take this path goes to this pool instead (a response rule's {@code move}), or
 *        null
 * @param bounceReason mail that would take this path is returned to its senders with a DSN, with this reason (a
 *        response rule's {@code bounce}), or null
 */
public record PathDecision(Limits limits, Instant suspendedUntil, String because, String divertToPool,
                           String bounceReason) {

    public PathDecision {
        Objects.requireNonNull(limits, "limits");
    }

    /** Limits and suspension only: no diversion, no bounce. */
    public PathDecision(Limits limits, Instant suspendedUntil, String because) {
        this(limits, suspendedUntil, because, null, null);
    }

    public static PathDecision of(Limits limits) {
        return new PathDecision(limits, null, null);
    }

    public boolean suspendedAt(Instant now) {
        return suspendedUntil != null && now.isBefore(suspendedUntil);
    }
}
