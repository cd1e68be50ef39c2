package org.hermod.delivery.internal;

import java.time.Duration;
import java.util.Locale;

/** Parses durations written like {@code 250ms}, {@code 30s}, {@code 5m}, {@code 4h}, {@code 5d}; a bare number is seconds. */
public final class Durations {

    private Durations() {
    }

    public static Duration parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            throw new IllegalArgumentException("empty duration");
        }
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
            }
            char unit = t.charAt(t.length() - 1);
            if (Character.isDigit(unit)) {
                return Duration.ofSeconds(Long.parseLong(t));
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1).trim());
            return switch (unit) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                case 'w' -> Duration.ofDays(7 * n);
                default -> throw new IllegalArgumentException("unknown duration unit in: " + s);
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: " + s, e);
        }
    }

    /** Short form for logs and messages, e.g. {@code 5m}. */
    public static String format(Duration d) {
        long s = d.toSeconds();
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        if (s != 0 && s % 86400 == 0) {
            return s / 86400 + "d";
        }
        if (s != 0 && s % 3600 == 0) {
            return s / 3600 + "h";
        }
        if (s != 0 && s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}
