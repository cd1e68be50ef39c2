package org.hermod.delivery.internal.tls;

import java.util.Locale;

/** Host name patterns as MTA-STS (RFC 8461 4.1) and certificates (RFC 6125 6.4.3) use them. */
final class HostPatterns {

    private HostPatterns() {
    }

    /**
     * Whether {@code host} matches {@code pattern}, case-insensitively and ignoring a trailing dot: exactly, or, for
     * {@code *.example.com}, any name with exactly one more (non-empty) label on the left.
     */
    static boolean matches(String pattern, String host) {
        String p = strip(pattern);
        String h = strip(host);
        if (p.startsWith("*.")) {
            int dot = h.indexOf('.');
            return dot > 0 && h.substring(dot + 1).equals(p.substring(2));
        }
        return !p.isEmpty() && p.equals(h);
    }

    private static String strip(String s) {
        String v = s.toLowerCase(Locale.ROOT);
        return v.endsWith(".") ? v.substring(0, v.length() - 1) : v;
    }
}
