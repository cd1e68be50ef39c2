package org.hermod.api.shaping;

import java.time.Instant;
import java.util.Map;

/**
 * The adaptive state of one path, as one strategy hands it to another on a swap (so that a swap does not reset a
 * throttled path to full speed).
 *
 * @param path the path
 * @param factor the share of the configured connections and rates in force (0..1; 1 = not throttled)
 * @param suspendedUntil suspended until then, or null
 * @param reason why it is throttled or suspended, or null
 * @param extra strategy-specific values (a strategy ignores keys it does not know)
 */
public record PathState(EgressPath path, double factor, Instant suspendedUntil, String reason, Map<String, String> extra) {

    public PathState {
        extra = Map.copyOf(extra == null ? Map.of() : extra);
    }
}
