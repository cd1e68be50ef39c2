package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The default {@link ThrottleStore}: GCRA cells in memory. A take of several cells is atomic with respect to other
 * takes of this store (one short lock around a few arithmetic operations per cell), so a path token is never spent
 * when its site or source has none.
 */
public final class LocalThrottleStore implements ThrottleStore {

    private final ConcurrentMap<String, Gcra> cells = new ConcurrentHashMap<>();

    @Override
    public Duration tryTakeAll(List<Take> takes, Instant now) {
        synchronized (this) {
            Duration longest = Duration.ZERO;
            for (Take t : takes) {
                if (t.perSecond() > 0) {
                    Duration w = cell(t).waitFor(t.perSecond(), now);
                    if (w.compareTo(longest) > 0) {
                        longest = w;
                    }
                }
            }
            if (!longest.isZero()) {
                return longest;
            }
            for (Take t : takes) {
                if (t.perSecond() > 0) {
                    cell(t).tryTake(t.perSecond(), now);
                }
            }
            return Duration.ZERO;
        }
    }

    private Gcra cell(Take t) {
        return cells.computeIfAbsent(t.key(), k -> new Gcra(Math.max(1, t.burst())));
    }

    @Override
    public int size() {
        return cells.size();
    }
}
