package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;

/**
 * One rate-limiter cell, the generic cell rate algorithm (GCRA, as KumoMTA's throttles): it keeps only the theoretical
 * arrival time (TAT) of the next token. A token may be taken when {@code TAT - now <= tolerance}, where the tolerance
 * is {@code (burst - 1)} emission intervals; taking one moves TAT on by one interval ({@code 1 / rate}). A refusal
 * says exactly when the next token is due, so a limited path is woken at that instant, not by a periodic tick.
 *
 * <p>The rate is given on every call, so a changed limit (a live configuration edit, an adaptive decrease) applies to
 * the next token without losing what was already spent. The clock is the caller's ({@code now}); nothing here reads
 * the system time. Threading: thread-safe (one lock per cell, held for a few arithmetic operations).
 */
public final class Gcra {

    private final int burst;
    /** Theoretical arrival time in nanoseconds since the epoch; Long.MIN_VALUE when never used. */
    private long tat = Long.MIN_VALUE;

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
    public synchronized Duration tryTake(double perSecond, Instant now) {
        Duration wait = waitFor(perSecond, now);
        if (wait.isZero() && perSecond > 0) {
            long t = nanos(now);
            tat = Math.max(effectiveTat(perSecond, t), t) + interval(perSecond);
        }
        return wait;
    }

    /**
     * The TAT as the current rate sees it: a TAT further ahead than one full burst at this rate was set by a slower
     * rate before (a raised limit, an adaptive recovery); it is forgiven, so the faster rate applies at once.
     */
    private long effectiveTat(double perSecond, long t) {
        long horizon = t + burst * interval(perSecond);
        return tat > horizon ? t : tat; // forgiven: the next token is due now, then spaced at the new rate
    }

    /** How long until a token is available (ZERO: now), without taking one. */
    public synchronized Duration waitFor(double perSecond, Instant now) {
        if (perSecond <= 0 || tat == Long.MIN_VALUE) {
            return Duration.ZERO;
        }
        long t = nanos(now);
        long tolerance = (burst - 1) * interval(perSecond);
        long allowedAt = effectiveTat(perSecond, t) - tolerance;
        return allowedAt <= t ? Duration.ZERO : Duration.ofNanos(allowedAt - t);
    }

    /** The emission interval in nanoseconds (at least 1). */
    static long interval(double perSecond) {
        return Math.max(1L, Math.round(1_000_000_000d / perSecond));
    }

    static long nanos(Instant i) {
        return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000_000L), i.getNano());
    }
}
