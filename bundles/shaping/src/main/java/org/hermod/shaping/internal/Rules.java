package org.hermod.shaping.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.Site;

/**
 * One immutable snapshot of the rules file: providers, limits by precedence, response rules and recovery settings.
 * A reload builds a new snapshot and swaps it in; nothing that holds counters or adaptive state lives here.
 *
 * <p>Threading: immutable apart from an internal cache of resolved limits; safe from any thread.
 */
public final class Rules {

    /** The fields of {@link Limits}, in order. */
    public static final List<String> FIELDS = List.of("maxConnections", "maxMessagesPerConnection",
            "messagesPerSecond", "connectionsPerSecond", "maxRecipientsPerTransaction");

    /** Limits with the rule each field came from. */
    public record Resolved(Limits limits, Map<String, String> origins) {
    }

    /** Site-wide and source-wide rates and connections open at once (0 = unlimited). */
    public record Totals(double messagesPerSecond, double connectionsPerSecond, int maxConnections) {
        static final Totals NONE = new Totals(0, 0, 0);
    }

    private static final int CACHE_MAX = 100_000;

    private final String file;
    private final String version;
    private final List<ProviderRule> providers;
    private final List<LimitRule> limits;
    private final List<ResponseRule> responses;
    private final List<RecoveryRule> recoveries;
    private final List<WarmupPlan> warmups;
    private final List<String> errors;
    private final Map<String, Resolved> cache = new ConcurrentHashMap<>();

    public Rules(String file, String version, List<ProviderRule> providers, List<LimitRule> limits,
                 List<ResponseRule> responses, List<RecoveryRule> recoveries, List<String> errors) {
        this(file, version, providers, limits, responses, recoveries, List.of(), errors);
    }

    public Rules(String file, String version, List<ProviderRule> providers, List<LimitRule> limits,
                 List<ResponseRule> responses, List<RecoveryRule> recoveries, List<WarmupPlan> warmups,
                 List<String> errors) {
        this.warmups = List.copyOf(warmups);
        this.file = file;
        this.version = version;
        this.providers = List.copyOf(providers);
        List<LimitRule> byRank = new ArrayList<>(limits);
        byRank.sort(Comparator.comparingInt(r -> r.scope().rank())); // stable: file order within a rank
        this.limits = List.copyOf(byRank);
        List<ResponseRule> resp = new ArrayList<>(responses);
        resp.sort(Comparator.comparingInt((ResponseRule r) -> r.scope().rank()).reversed()); // most specific first
        this.responses = List.copyOf(resp);
        List<RecoveryRule> rec = new ArrayList<>(recoveries);
        rec.sort(Comparator.comparingInt((RecoveryRule r) -> r.scope().rank()).reversed());
        this.recoveries = List.copyOf(rec);
        this.errors = List.copyOf(errors);
    }

    /** No file: built-in defaults only. */
    public static Rules empty() {
        return new Rules("(none)", "none", List.of(), List.of(), List.of(), List.of(), List.of());
    }

    public String file() {
        return file;
    }

    /** The file's {@code version} line, else a hash of its content. */
    public String version() {
        return version;
    }

    public List<String> errors() {
        return errors;
    }

    public List<ProviderRule> providers() {
        return providers;
    }

    public List<ResponseRule> responses() {
        return responses;
    }

    /** The first provider (file order) matching one of the MX hosts, else the first naming the domain; or null. */
    public String providerOf(List<String> mxHosts, String domain) {
        List<String> mx = mxHosts == null ? List.of() : mxHosts;
        for (ProviderRule p : providers) {
            if (p.matchesMx(mx)) {
                return p.name();
            }
        }
        for (ProviderRule p : providers) {
            if (p.matchesDomain(domain)) {
                return p.name();
            }
        }
        return null;
    }

    /** The site's provider: as delivery found it, else by these rules. */
    public String providerOf(Site site, String domain) {
        if (site == null) {
            return providerOf(List.of(), domain);
        }
        return site.provider() != null ? site.provider() : providerOf(site.mxHosts(), domain);
    }

    /** The configured limits of a path, by precedence (default &lt; provider &lt; site &lt; domain &lt; source). */
    public Resolved resolve(Site site, String domain, String source) {
        String key = (site == null ? "" : site.key()) + '\u0000' + (domain == null ? "" : domain) + '\u0000' + source;
        Resolved r = cache.get(key);
        if (r == null) {
            r = compute(site, domain, source);
            if (cache.size() >= CACHE_MAX) {
                cache.clear();
            }
            cache.put(key, r);
        }
        return r;
    }

    private Resolved compute(Site site, String domain, String source) {
        String provider = providerOf(site, domain);
        Map<String, Number> values = new HashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        Limits d = Limits.DEFAULT;
        List<Number> defaults = List.of(d.maxConnections(), d.maxMessagesPerConnection(), d.messagesPerSecond(),
                d.connectionsPerSecond(), d.maxRecipientsPerTransaction());
        for (int i = 0; i < FIELDS.size(); i++) {
            values.put(FIELDS.get(i), defaults.get(i));
            origins.put(FIELDS.get(i), Origin.BUILT_IN.toString());
        }
        for (LimitRule rule : limits) {
            if (rule.kind() == LimitRule.Kind.PATH && rule.scope().matches(site, provider, domain, source)) {
                rule.values().forEach((k, v) -> {
                    values.put(k, v);
                    origins.put(k, rule.origin().toString());
                });
            }
        }
        Limits l = new Limits(values.get(FIELDS.get(0)).intValue(), Math.max(1, values.get(FIELDS.get(1)).intValue()),
                values.get(FIELDS.get(2)).doubleValue(), values.get(FIELDS.get(3)).doubleValue(),
                Math.max(1, values.get(FIELDS.get(4)).intValue()));
        return new Resolved(l, Map.copyOf(origins));
    }

    /** Rates across every source to one site (site-limits lines, by precedence). */
    public Totals siteTotals(Site site, String domain) {
        return totals(LimitRule.Kind.SITE_TOTAL, site, providerOf(site, domain), domain, null);
    }

    /** Rates of one source across every site (source-limits lines). */
    public Totals sourceTotals(String source) {
        return totals(LimitRule.Kind.SOURCE_TOTAL, null, null, null, source);
    }

    private Totals totals(LimitRule.Kind kind, Site site, String provider, String domain, String source) {
        double mps = 0;
        double cps = 0;
        int conns = 0;
        for (LimitRule rule : limits) {
            if (rule.kind() == kind && rule.scope().matches(site, provider, domain, source)) {
                Number m = rule.values().get("messagesPerSecond");
                Number c = rule.values().get("connectionsPerSecond");
                Number k = rule.values().get("maxConnections");
                mps = m == null ? mps : m.doubleValue();
                cps = c == null ? cps : c.doubleValue();
                conns = k == null ? conns : k.intValue();
            }
        }
        return mps == 0 && cps == 0 && conns == 0 ? Totals.NONE : new Totals(mps, cps, conns);
    }

    /** The response rules that apply to a path, most specific first (file order within a level). */
    public List<ResponseRule> responsesFor(Site site, String domain, String source) {
        String provider = providerOf(site, domain);
        List<ResponseRule> out = new ArrayList<>();
        for (ResponseRule r : responses) {
            if (r.scope().matches(site, provider, domain, source)) {
                out.add(r);
            }
        }
        return out;
    }

    /** Every warmup line, in file order. */
    public List<WarmupPlan> warmups() {
        return warmups;
    }

    /**
     * The warmup plan of a source towards a provider: the last line naming both, else the last line naming only the
     * source; null when the source has no plan (then it has no warmup cap).
     *
     * @param provider the destination's provider, or null for a site no provider rule matches
     */
    public WarmupPlan warmupFor(String source, String provider) {
        if (warmups.isEmpty()) {
            return null;
        }
        WarmupPlan any = null;
        WarmupPlan exact = null;
        for (WarmupPlan w : warmups) {
            if (w.source().equals(source)) {
                if (w.provider() == null) {
                    any = w;
                } else if (w.provider().equals(provider)) {
                    exact = w;
                }
            }
        }
        return exact != null ? exact : any;
    }

    /** The recovery settings of a path: the most specific matching line, else the built-in default. */
    public RecoveryRule recoveryFor(Site site, String domain, String source) {
        String provider = providerOf(site, domain);
        for (RecoveryRule r : recoveries) {
            if (r.scope().matches(site, provider, domain, source)) {
                return r;
            }
        }
        return RecoveryRule.DEFAULT;
    }

    static String num(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : String.format(Locale.ROOT, "%.3f", d).replaceAll("0+$", "");
    }

    static String duration(Duration d) {
        long s = d.getSeconds();
        if (s % 86400 == 0 && s > 0) {
            return s / 86400 + "d";
        }
        if (s % 3600 == 0 && s > 0) {
            return s / 3600 + "h";
        }
        if (s % 60 == 0 && s > 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}
