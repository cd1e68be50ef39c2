package org.hermod.shaping.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.hermod.api.shaping.EgressPath;

/**
 * Suspensions an operator set ({@code hermod:shaping-suspend}): on one path, on a whole site (every source) or on a
 * whole source (every site). Kept apart from any strategy, so a strategy swap never lifts them. Thread-safe.
 */
final class OperatorHolds {

    /** @param target {@code path:src->site}, {@code site:key} or {@code source:name} */
    record Hold(String target, Instant until, String reason) {
    }

    private final Map<String, Hold> holds = new ConcurrentHashMap<>();

    static String pathKey(EgressPath p) {
        return "path:" + p.source() + "->" + p.site();
    }

    void put(Hold h) {
        holds.put(h.target(), h);
    }

    Hold remove(String target) {
        return holds.remove(target);
    }

    /** The latest end of any hold covering the path at {@code now}, or null. */
    Instant until(EgressPath p, Instant now) {
        Instant out = null;
        if (holds.isEmpty()) {
            return null;
        }
        for (String k : new String[] {pathKey(p), "site:" + p.site(), "source:" + p.source()}) {
            Hold h = holds.get(k);
            if (h != null && now.isBefore(h.until()) && (out == null || h.until().isAfter(out))) {
                out = h.until();
            }
        }
        return out;
    }

    /** The reason of the hold that ends last for the path, or null. */
    String reason(EgressPath p, Instant now) {
        Instant u = until(p, now);
        for (String k : new String[] {pathKey(p), "site:" + p.site(), "source:" + p.source()}) {
            Hold h = holds.get(k);
            if (h != null && h.until().equals(u)) {
                return "operator: " + h.reason();
            }
        }
        return null;
    }

    /** Removes and returns the holds that ended by {@code now}. */
    List<Hold> expire(Instant now) {
        List<Hold> out = new ArrayList<>();
        for (Hold h : holds.values()) {
            if (!now.isBefore(h.until()) && holds.remove(h.target(), h)) {
                out.add(h);
            }
        }
        return out;
    }

    List<Hold> all() {
        return List.copyOf(holds.values());
    }
}
