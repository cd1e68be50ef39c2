package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One rate-limiter cell, the generic cell rate algorithm (GCRA, as KumoMTA's throttles): it keeps only the theoretical
 * arrival time (TAT) of the next token. A token may be taken when {@code TAT - now <= tolerance}, where the tolerance
 * is {@code (burst - 1)} emission intervals; taking one moves TAT on by one interval ({@code 1 / rate}). A refusal
 * says exactly when the next token is due, so a limited path is woken at that instant, not by a periodic tick.
 *
 * <p>The rate is given on every call, so a changed limit (a live configuration edit, an adaptive decrease) applies to
 * the next token without losing what was already spent. The clock is the caller's ({@code now}); nothing here reads
 * the system time. Threading: lock-free (the TAT is one atomic long, moved by compare-and-set).
 */
public final class Gcra {

    private static final long NEVER = Long.MIN_VALUE;
    private final int burst;
    /** Theoretical arrival time in nanoseconds since the epoch; NEVER when never used. */
    private final AtomicLong tat = new AtomicLong(NEVER);

    /** A cell with a burst of 1: tokens are spaced by exactly one emission interval. */
    public Gcra() {
        this(1);
    }

    /** @param burst how many tokens may be taken back to back after an idle period (>= 1) */
    public Gcra(int burst) {
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be >= 1");
        }
        this.burst = burst;
    }

    public int burst() {
        return burst;
    }

    /**
     * Takes one token when one is available.
     *
     * @param perSecond the rate; 0 or less means unlimited (always ZERO, nothing recorded)
     * @return {@link Duration#ZERO} when the token was taken, else the wait until the next one is due (nothing taken)
     */
    public Duration tryTake(double perSecond, Instant now) {
        long w = tryTakeNanos(perSecond, nanos(now));
        return w == 0 ? Duration.ZERO : Duration.ofNanos(w);
    }

    /** As {@link #tryTake}, in nanoseconds since the epoch: 0 when taken, else the nanoseconds to wait. */
    long tryTakeNanos(double perSecond, long t) {
        if (perSecond <= 0) {
            return 0;
        }
        long interval = interval(perSecond);
        while (true) {
            long current = tat.get();
            long wait = waitNanos(current, interval, t);
            if (wait > 0) {
                return wait;
            }
            long base = current == NEVER ? t : Math.max(effectiveTat(current, interval, t), t);
            if (tat.compareAndSet(current, base + interval)) {
                return 0;
            }
        }
    }

    /**
     * Returns a token taken with {@link #tryTakeNanos} at this rate (a take of several cells that failed on a later
     * cell): the TAT moves back by one interval.
     */
    void giveBack(double perSecond) {
        if (perSecond > 0) {
            long interval = interval(perSecond);
            tat.getAndUpdate(v -> v == NEVER ? v : v - interval);
        }
    }

    /**
     * The TAT as the current rate sees it: a TAT further ahead than one full burst at this rate was set by a slower
     * rate before (a raised limit, an adaptive recovery); it is forgiven, so the faster rate applies at once.
     */
    private long effectiveTat(long current, long interval, long t) {
        long horizon = t + burst * interval;
        return current > horizon ? t : current; // forgiven: the next token is due now, then spaced at the new rate
    }

    /** How long until a token is available (ZERO: now), without taking one. */
    public Duration waitFor(double perSecond, Instant now) {
        long w = waitNanos(perSecond, nanos(now));
        return w == 0 ? Duration.ZERO : Duration.ofNanos(w);
    }

    /** As {@link #waitFor} in nanoseconds (0: now). */
    long waitNanos(double perSecond, long t) {
        return perSecond <= 0 ? 0 : waitNanos(tat.get(), interval(perSecond), t);
    }

    private long waitNanos(long current, long interval, long t) {
        if (current == NEVER) {
            return 0;
        }
        long tolerance = (burst - 1) * interval;
        long allowedAt = effectiveTat(current, interval, t) - tolerance;
        return allowedAt <= t ? 0 : allowedAt - t;
    }

    /** The emission interval in nanoseconds (at least 1). */
    static long interval(double perSecond) {
        return Math.max(1L, Math.round(1_000_000_000d / perSecond));
    }

    static long nanos(Instant i) {
        return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000_000L), i.getNano());
    }
}
