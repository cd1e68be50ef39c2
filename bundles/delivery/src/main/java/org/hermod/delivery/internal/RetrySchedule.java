package org.hermod.delivery.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * When to try a deferred recipient again: either an explicit list of intervals (the last one repeats) or an exponential
 * schedule (initial, factor, cap), each with +/- jitter.
 */
public record RetrySchedule(List<Duration> schedule, Duration initial, double factor, Duration max, double jitter) {

    /** The shortest retry interval accepted (a shorter one would make deferred mail spin). */
    public static final Duration MIN_INTERVAL = Duration.ofSeconds(1);

    public RetrySchedule {
        schedule = List.copyOf(schedule);
        if (initial.compareTo(MIN_INTERVAL) < 0) {
            throw new IllegalArgumentException("retryInitial (or an override's retry) must be at least 1s, got "
                    + Durations.format(initial));
        }
        for (Duration d : schedule) {
            if (d.compareTo(MIN_INTERVAL) < 0) {
                throw new IllegalArgumentException("every retrySchedule interval must be at least 1s, got "
                        + Durations.format(d));
            }
        }
        if (max.compareTo(MIN_INTERVAL) < 0) {
            throw new IllegalArgumentException("retryMax must be at least 1s, got " + Durations.format(max));
        }
        if (factor < 1.0) {
            throw new IllegalArgumentException("retryFactor must be >= 1");
        }
        if (jitter < 0 || jitter >= 1) {
            throw new IllegalArgumentException("retryJitter must be in [0,1)");
        }
    }

    public static RetrySchedule exponential(Duration initial, double factor, Duration max, double jitter) {
        return new RetrySchedule(List.of(), initial, factor, max, jitter);
    }

    public static RetrySchedule defaults() {
        return exponential(Duration.ofMinutes(5), 2.0, Duration.ofHours(4), 0.1);
    }

    /** Parses a list like {@code 5m,10m,1h} (separators: comma, slash or space). */
    public static List<Duration> parseSchedule(String s) {
        List<Duration> out = new ArrayList<>();
        for (String part : s.split("[,/\\s]+")) {
            if (!part.isBlank()) {
                out.add(Durations.parse(part));
            }
        }
        return out;
    }

    /** The nominal interval (without jitter) after the given attempt (1 = after the first attempt). */
    public Duration nominal(int attempt) {
        int n = Math.max(1, attempt);
        if (!schedule.isEmpty()) {
            return schedule.get(Math.min(n, schedule.size()) - 1);
        }
        double ms = initial.toMillis() * Math.pow(factor, n - 1);
        return ms >= max.toMillis() ? max : Duration.ofMillis((long) ms);
    }

    /** The interval after the given attempt, with jitter applied. */
    public Duration delay(int attempt, Random random) {
        Duration d = nominal(attempt);
        if (jitter == 0) {
            return d;
        }
        double f = 1.0 + jitter * (2 * random.nextDouble() - 1);
        return Duration.ofMillis(Math.max(1, (long) (d.toMillis() * f)));
    }
}
