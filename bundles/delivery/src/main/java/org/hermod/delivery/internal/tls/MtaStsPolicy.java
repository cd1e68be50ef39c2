package org.hermod.delivery.internal.tls;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A parsed MTA-STS policy (RFC 8461 section 3.2): {@code version: STSv1}, {@code mode} (enforce, testing or none),
 * {@code max_age} in seconds (at most 31557600) and the allowed MX host patterns. Lines are {@code key: value}, ended by
 * CRLF or LF; unknown keys are ignored; for repeated keys other than {@code mx} the first one counts.
 *
 * @param mode what to do with the policy
 * @param mx the allowed MX patterns (lower case, no trailing dot): {@code mail.example.com} or {@code *.example.com}
 * @param maxAge how long the policy may be cached
 */
public record MtaStsPolicy(Mode mode, List<String> mx, Duration maxAge) {

    /** RFC 8461: max_age is at most one year (31557600 seconds). */
    public static final long MAX_AGE_LIMIT = 31_557_600L;

    /** The policy mode. */
    public enum Mode {
        ENFORCE, TESTING, NONE;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public MtaStsPolicy {
        mx = List.copyOf(mx);
    }

    /** @throws IllegalArgumentException with what is wrong (a TLS-RPT {@code sts-policy-invalid}) */
    public static MtaStsPolicy parse(String text) {
        String version = null;
        String mode = null;
        String maxAge = null;
        List<String> mx = new ArrayList<>();
        for (String raw : text.split("\r?\n")) {
            if (raw.isBlank()) {
                continue;
            }
            int colon = raw.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("policy line without 'key: value': '" + cut(raw) + "'");
            }
            String key = raw.substring(0, colon).trim();
            String value = raw.substring(colon + 1).trim();
            switch (key) {
                case "version" -> version = version == null ? value : version;
                case "mode" -> mode = mode == null ? value : mode;
                case "max_age" -> maxAge = maxAge == null ? value : maxAge;
                case "mx" -> mx.add(pattern(value));
                default -> {
                    // extension fields are ignored (RFC 8461 3.2)
                }
            }
        }
        if (!"STSv1".equals(version)) {
            throw new IllegalArgumentException("version must be STSv1, got " + (version == null ? "none" : "'" + cut(version) + "'"));
        }
        Mode m = switch (mode == null ? "" : mode) {
            case "enforce" -> Mode.ENFORCE;
            case "testing" -> Mode.TESTING;
            case "none" -> Mode.NONE;
            default -> throw new IllegalArgumentException("mode must be enforce, testing or none, got "
                    + (mode == null ? "none" : "'" + cut(mode) + "'"));
        };
        if (maxAge == null || !maxAge.matches("[0-9]{1,10}")) {
            throw new IllegalArgumentException("max_age must be a number of seconds, got "
                    + (maxAge == null ? "none" : "'" + cut(maxAge) + "'"));
        }
        long age = Math.min(Long.parseLong(maxAge), MAX_AGE_LIMIT);
        if (m != Mode.NONE && mx.isEmpty()) {
            throw new IllegalArgumentException("a policy in mode " + m.configName() + " needs at least one mx");
        }
        return new MtaStsPolicy(m, mx, Duration.ofSeconds(age));
    }

    private static String pattern(String v) {
        String p = v.toLowerCase(Locale.ROOT);
        if (p.endsWith(".")) {
            p = p.substring(0, p.length() - 1);
        }
        if (p.isEmpty() || !p.matches("(\\*\\.)?[a-z0-9_-]+(\\.[a-z0-9_-]+)*")) {
            throw new IllegalArgumentException("bad mx pattern '" + cut(v) + "'");
        }
        return p;
    }

    /**
     * Whether an MX host name matches one of the patterns (RFC 8461 section 4.1): exactly, case-insensitively, or for
     * {@code *.example.com} any name with exactly one more label on the left ({@code a.example.com}, not
     * {@code example.com} or {@code a.b.example.com}).
     */
    public boolean matches(String host) {
        for (String p : mx) {
            if (HostPatterns.matches(p, host)) {
                return true;
            }
        }
        return false;
    }

    /** The policy in its published form (also the file cache's body). */
    public String text() {
        StringBuilder sb = new StringBuilder("version: STSv1\r\nmode: ").append(mode.configName()).append("\r\n");
        for (String p : mx) {
            sb.append("mx: ").append(p).append("\r\n");
        }
        return sb.append("max_age: ").append(maxAge.toSeconds()).append("\r\n").toString();
    }

    private static String cut(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
