package org.hermod.smtp.internal;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per client IP event counters in fixed windows (messages, recipients, errors per minute; authentication failures per
 * configured window), shared by all sessions and listeners. Like Postfix's anvil: counts survive the session, so a
 * client cannot reset them by reconnecting. Entries whose windows have all passed are dropped by {@link #sweep}.
 */
final class ClientRates {

    enum Kind { CONNECTION, MESSAGE, RECIPIENT, ERROR, AUTH_FAILURE }

    private static final int KINDS = Kind.values().length;

    /** Per kind: window start (nanos) and count. Guarded by the map's per-key locking (compute). */
    private final ConcurrentHashMap<InetAddress, long[]> counters = new ConcurrentHashMap<>();

    /** Counts one event; returns the count in the current window including it. */
    long add(InetAddress ip, Kind kind, long windowNanos, long now) {
        long[] out = new long[1];
        counters.compute(ip, (k, v) -> {
            long[] c = v == null ? new long[KINDS * 2] : v;
            int i = kind.ordinal() * 2;
            if (c[i + 1] == 0 || now - c[i] >= windowNanos) {
                c[i] = now;
                c[i + 1] = 0;
            }
            out[0] = ++c[i + 1];
            return c;
        });
        return out[0];
    }

    /** The count in the current window, without adding. */
    long count(InetAddress ip, Kind kind, long windowNanos, long now) {
        long[] c = counters.get(ip);
        if (c == null) {
            return 0;
        }
        int i = kind.ordinal() * 2; // an unlocked read: at worst a limit applies one event late
        return now - c[i] >= windowNanos ? 0 : c[i + 1];
    }

    /** Drops clients with no event within {@code maxWindowNanos}. */
    void sweep(long maxWindowNanos, long now) {
        counters.entrySet().removeIf(e -> {
            long[] c = e.getValue();
            for (int i = 0; i < KINDS; i++) {
                if (c[i * 2 + 1] > 0 && now - c[i * 2] < maxWindowNanos) {
                    return false;
                }
            }
            return true;
        });
    }

    int clients() {
        return counters.size();
    }
}
