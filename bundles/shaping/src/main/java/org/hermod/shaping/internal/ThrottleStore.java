package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Where the rate-limiter cells live, keyed by string ({@code path:main->mx.example.com}, {@code site:<key>},
 * {@code source:main}, and the {@code conn-} variants for connection rates). The local in-memory store is the default;
 * a store shared by several nodes (Redis, as KumoMTA does) can implement this without any change to the callers.
 *
 * <p>Threading: every method is thread-safe and must not block for long (the local store never does I/O).
 */
public interface ThrottleStore {

    /**
     * One token wanted from one cell.
     *
     * @param key the cell's key
     * @param perSecond its rate; 0 = unlimited (the take always succeeds and records nothing)
     * @param burst tokens that may be taken back to back after an idle period
     */
    record Take(String key, double perSecond, int burst) {
    }

    /**
     * Takes one token from every cell, or none: when any cell has no token, nothing is taken and the longest wait is
     * returned (the instant at which every cell will have one, as far as this caller is concerned).
     *
     * @return ZERO when all were taken
     */
    Duration tryTakeAll(List<Take> takes, Instant now);

    /** How many cells the store holds (for tests and the console). */
    int size();

    /**
     * The cells of one path's takes, resolved once: a path's cell, its site's and its source's. The shaping service
     * keeps the handle with the path's cached limits, so a take builds no keys and looks nothing up. The default
     * goes through {@link #tryTakeAll}; a store may return a faster handle with the same all-or-nothing meaning.
     */
    default PathCells cells(String pathKey, String siteKey, String sourceKey) {
        return (pathRate, siteRate, sourceRate, now) -> tryTakeAll(List.of(new Take(pathKey, pathRate, 1),
                new Take(siteKey, siteRate, 1), new Take(sourceKey, sourceRate, 1)), now);
    }

    /** A handle on a path's, its site's and its source's cells (rates as in {@link Take}: 0 = unlimited). */
    interface PathCells {

        /** One token from each of the three cells or none, as {@link #tryTakeAll}. */
        Duration take(double pathRate, double siteRate, double sourceRate, Instant now);
    }
}
