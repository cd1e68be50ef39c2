package org.hermod.shaping.internal;

import java.util.Map;

/**
 * Where the warmup state ({@link Warmup}: plan day, today's and this hour's counts per source and target) survives a
 * restart. {@link Warmup} never calls it on the hot path: the shaping service flushes what changed on its ticker and
 * at deactivation, and loads everything once at start.
 *
 * <p>Threading: called from one thread at a time (the shaping service's ticker, its activation and deactivation).
 */
interface WarmupStore {

    /** Every entry stored. */
    Map<Warmup.Key, Warmup.Entry> load() throws Exception;

    /** Writes these entries (inserted or replaced; others are left as they are) all or none. */
    void save(Map<Warmup.Key, Warmup.Entry> changed) throws Exception;

    /** Where it is, for log lines. */
    String describe();
}
