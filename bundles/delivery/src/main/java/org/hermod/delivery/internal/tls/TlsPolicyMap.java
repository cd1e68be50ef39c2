package org.hermod.delivery.internal.tls;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The per-destination TLS policy map: one {@code domain level} pair per line, {@code #} comments. A domain written with
 * a leading '.' covers its subdomains (not itself); an exact entry beats a suffix entry, and a longer suffix beats a
 * shorter one. The line {@code * level} sets the default for every domain not listed (else {@code tls.defaultPolicy}).
 * Immutable.
 */
public final class TlsPolicyMap {

    /** An empty map. */
    public static final TlsPolicyMap EMPTY = new TlsPolicyMap(Map.of(), Map.of(), null);

    private final Map<String, TlsLevel> exact;
    private final Map<String, TlsLevel> suffixes;
    private final TlsLevel fallback;

    private TlsPolicyMap(Map<String, TlsLevel> exact, Map<String, TlsLevel> suffixes, TlsLevel fallback) {
        this.exact = Map.copyOf(exact);
        this.suffixes = Map.copyOf(suffixes);
        this.fallback = fallback;
    }

    /** @throws IllegalArgumentException naming the line of the first error */
    public static TlsPolicyMap parse(String text) {
        Map<String, TlsLevel> exact = new HashMap<>();
        Map<String, TlsLevel> suffixes = new HashMap<>();
        TlsLevel fallback = null;
        String[] lines = text.split("\r?\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            line = line.trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length != 2) {
                throw new IllegalArgumentException("line " + (i + 1) + ": expected 'domain policy', got '" + line + "'");
            }
            TlsLevel level;
            try {
                level = TlsLevel.parse(f[1]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage(), e);
            }
            String d = f[0].toLowerCase(Locale.ROOT);
            if (d.endsWith(".") && d.length() > 1) {
                d = d.substring(0, d.length() - 1);
            }
            if (d.equals("*")) {
                fallback = level;
            } else if (d.startsWith(".") && d.length() > 1) {
                suffixes.put(d, level);
            } else if (!d.startsWith(".") && !d.contains("*")) {
                exact.put(d, level);
            } else {
                throw new IllegalArgumentException("line " + (i + 1) + ": bad domain '" + f[0] + "'");
            }
        }
        return new TlsPolicyMap(exact, suffixes, fallback);
    }

    /** The policy for {@code domain} with where it came from ({@code map} or {@code default}). */
    public Choice lookup(String domain, TlsLevel defaultLevel) {
        String d = domain.toLowerCase(Locale.ROOT);
        TlsLevel l = exact.get(d);
        if (l != null) {
            return new Choice(l, "map");
        }
        for (int dot = d.indexOf('.'); dot >= 0; dot = d.indexOf('.', dot + 1)) {
            l = suffixes.get(d.substring(dot));
            if (l != null) {
                return new Choice(l, "map");
            }
        }
        return fallback != null ? new Choice(fallback, "map") : new Choice(defaultLevel, "default");
    }

    public int size() {
        return exact.size() + suffixes.size() + (fallback == null ? 0 : 1);
    }

    /** A level and where it came from. */
    public record Choice(TlsLevel level, String source) {
    }
}
