package org.hermod.delivery.internal;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-destination overrides, parsed from {@code example.com: maxAge=1h, retry=1m; .slow.example: maxConnections=2}.
 * Entries are separated by ';', settings within one by ','. Keys: maxAge, retry (= retryInitial), retryInitial,
 * retryFactor, retryMax, retrySchedule (intervals separated by '/'), maxConnections, tlsRequired. A domain written
 * with a leading '.' applies to every subdomain; an exact entry wins over a suffix entry, a longer suffix over a shorter.
 */
public final class DomainOverrides {

    private final Map<String, Map<String, String>> entries;

    private DomainOverrides(Map<String, Map<String, String>> entries) {
        this.entries = entries;
    }

    public static DomainOverrides parse(String spec) {
        Map<String, Map<String, String>> entries = new LinkedHashMap<>();
        if (spec != null) {
            for (String entry : spec.split(";")) {
                if (entry.isBlank()) {
                    continue;
                }
                int colon = entry.indexOf(':');
                if (colon <= 0) {
                    throw new IllegalArgumentException("domainOverrides entry needs 'domain: key=value': " + entry.trim());
                }
                String domain = entry.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                Map<String, String> kv = new LinkedHashMap<>();
                for (String setting : entry.substring(colon + 1).split(",")) {
                    if (setting.isBlank()) {
                        continue;
                    }
                    int eq = setting.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("domainOverrides setting needs key=value: " + setting.trim());
                    }
                    String key = setting.substring(0, eq).trim();
                    if (!List.of("maxAge", "retry", "retryInitial", "retryFactor", "retryMax", "retrySchedule",
                            "maxConnections", "tlsRequired").contains(key)) {
                        throw new IllegalArgumentException("unknown domainOverrides key: " + key);
                    }
                    kv.put(key, setting.substring(eq + 1).trim());
                }
                entries.put(domain, kv);
            }
        }
        DomainOverrides o = new DomainOverrides(entries);
        for (String d : entries.keySet()) {
            try {
                o.apply(d, new DomainPolicy(Duration.ofDays(1), RetrySchedule.defaults(), 1, false)); // validates values now
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("domainOverrides entry '" + d + "': " + e.getMessage(), e);
            }
        }
        return o;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Applies the override matching {@code domain} (if any) to the defaults. */
    public DomainPolicy apply(String domain, DomainPolicy defaults) {
        Map<String, String> kv = find(domain.toLowerCase(Locale.ROOT));
        if (kv == null) {
            return defaults;
        }
        Duration maxAge = kv.containsKey("maxAge") ? Durations.parse(kv.get("maxAge")) : defaults.maxAge();
        RetrySchedule r = defaults.retry();
        Duration initial = r.initial();
        if (kv.containsKey("retry")) {
            initial = Durations.parse(kv.get("retry"));
        }
        if (kv.containsKey("retryInitial")) {
            initial = Durations.parse(kv.get("retryInitial"));
        }
        double factor = kv.containsKey("retryFactor") ? Double.parseDouble(kv.get("retryFactor")) : r.factor();
        Duration max = kv.containsKey("retryMax") ? Durations.parse(kv.get("retryMax")) : r.max();
        List<Duration> schedule = kv.containsKey("retrySchedule") ? RetrySchedule.parseSchedule(kv.get("retrySchedule"))
                : (kv.containsKey("retry") || kv.containsKey("retryInitial") ? List.of() : r.schedule());
        if (max.compareTo(initial) < 0) {
            max = initial;
        }
        RetrySchedule retry = new RetrySchedule(schedule, initial, factor, max, r.jitter());
        int maxConn = kv.containsKey("maxConnections") ? Integer.parseInt(kv.get("maxConnections")) : defaults.maxConnections();
        if (maxConn < 1) {
            throw new IllegalArgumentException("domainOverrides maxConnections must be >= 1, got " + maxConn
                    + " (to hold a domain's mail, suspend it in the spool instead)");
        }
        boolean tls = kv.containsKey("tlsRequired") ? Boolean.parseBoolean(kv.get("tlsRequired")) : defaults.tlsRequired();
        return new DomainPolicy(maxAge, retry, maxConn, tls);
    }

    private Map<String, String> find(String domain) {
        Map<String, String> exact = entries.get(domain);
        if (exact != null) {
            return exact;
        }
        String d = domain;
        while (true) {
            int dot = d.indexOf('.');
            if (dot < 0) {
                return null;
            }
            d = d.substring(dot + 1);
            Map<String, String> m = entries.get("." + d);
            if (m != null) {
                return m;
            }
        }
    }
}
