package org.hermod.shaping.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.hermod.api.shaping.Limits;

/**
 * How many outcomes a path saw per second lately: counts in one-minute buckets, the rate over the last minute as the
 * current bucket plus the share of the previous one still inside the window (over the meter's age while it is younger
 * than a minute). The adaptive strategy reads it when a decrease hits a path whose configured rate is unlimited, so
 * that the decrease slows the path down from the rate it actually had, not only by cutting connections. A handful
 * of outcomes is no rate: below {@link #MIN_SAMPLE} it says 0 (the decrease then cuts connections only).
 *
 * <p>Threading: lock-free (an atomic count, a bucket moved on by compare-and-set once a minute).
 */
final class RateMeter {

    static final long WINDOW_NANOS = 60_000_000_000L;
    private static final long MIN_AGE_NANOS = 1_000_000_000L;
    /** Fewer outcomes than this in the current and previous minute say nothing about a rate: 0 is returned. */
    static final int MIN_SAMPLE = 10;

    /** One minute's count and the one before it. */
    private record Bucket(long index, long previous, AtomicLong count) {
    }

    private final long start;
    private final AtomicReference<Bucket> bucket;

    /** @param t the first outcome's time, nanoseconds since the epoch */
    RateMeter(long t) {
        this.start = t;
        this.bucket = new AtomicReference<>(new Bucket(Math.floorDiv(t, WINDOW_NANOS), 0, new AtomicLong()));
    }

    /** One outcome at {@code t} (nanoseconds since the epoch). */
    void record(long t) {
        long index = Math.floorDiv(t, WINDOW_NANOS);
        Bucket b = bucket.get();
        while (b.index() < index) {
            Bucket next = new Bucket(index, index == b.index() + 1 ? b.count().get() : 0, new AtomicLong());
            if (bucket.compareAndSet(b, next)) {
                b = next;
                break;
            }
            b = bucket.get();
        }
        b.count().incrementAndGet();
    }

    /** Outcomes per second over the last minute at {@code t}; 0 when fewer than {@link #MIN_SAMPLE} were counted. */
    double perSecond(long t) {
        long index = Math.floorDiv(t, WINDOW_NANOS);
        Bucket b = bucket.get();
        long current;
        long previous;
        if (b.index() >= index) {
            current = b.count().get();
            previous = b.previous();
        } else if (b.index() == index - 1) {
            current = 0;
            previous = b.count().get();
        } else {
            return 0;
        }
        if (current + previous < MIN_SAMPLE) {
            return 0;
        }
        long age = t - start;
        if (age < WINDOW_NANOS) { // everything counted so far, over the time it took
            return (current + previous) * 1e9 / Math.max(MIN_AGE_NANOS, age);
        }
        double inside = 1.0 - (double) Math.floorMod(t, WINDOW_NANOS) / WINDOW_NANOS;
        return (current + previous * inside) * 1e9 / WINDOW_NANOS;
    }

    /** Nothing counted in the last two minutes. */
    boolean stale(long t) {
        return bucket.get().index() < Math.floorDiv(t, WINDOW_NANOS) - 1;
    }

    /**
     * The limits in force at {@code factor}: the configured ones scaled and, when the configured message rate is
     * unlimited but a rate was observed when the path was first decreased, that rate times the factor (at least the
     * floor). At factor 1 the path is back to its configured (unlimited) rate.
     */
    static Limits scaled(Limits configured, double factor, double observedPerSecond, double floorPerSecond) {
        Limits l = configured.scaled(factor, floorPerSecond);
        if (factor >= 1.0 || configured.messagesPerSecond() > 0 || observedPerSecond <= 0) {
            return l;
        }
        return new Limits(l.maxConnections(), l.maxMessagesPerConnection(),
                Math.max(floorPerSecond, observedPerSecond * factor), l.connectionsPerSecond(),
                l.maxRecipientsPerTransaction());
    }
}
