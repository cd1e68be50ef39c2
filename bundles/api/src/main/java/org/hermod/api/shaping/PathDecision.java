package org.hermod.api.shaping;

import java.time.Instant;
import java.util.Objects;

/**
 * What a strategy says for one path now.
 *
 * @param limits the limits in force (at most the configured ones for an adaptive strategy)
 * @param suspendedUntil no new connections before this instant, or null when not suspended
 * @param because why the limits differ from the configured ones, or null when they do not
 */
public record PathDecision(Limits limits, Instant suspendedUntil, String because) {

    public PathDecision {
        Objects.requireNonNull(limits, "limits");
    }

    public static PathDecision of(Limits limits) {
        return new PathDecision(limits, null, null);
    }

    public boolean suspendedAt(Instant now) {
        return suspendedUntil != null && now.isBefore(suspendedUntil);
    }
}
