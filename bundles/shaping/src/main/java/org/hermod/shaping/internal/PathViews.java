package org.hermod.shaping.internal;

import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.Site;

/**
 * What the shaping service resolves for a destination from one rules snapshot, one configuration and one set of
 * strategies, so that the calls delivery makes per message match no rule and build no key: per site and recipient
 * domain the provider, the site-wide totals, the strategy and the warmup target; per source on top the configured
 * limits, the source-wide totals, the warmup plan and the rate-limiter cells; and each path's latest decision.
 *
 * <p>One instance serves until the rules, the configuration or the strategies change: the service then builds a new
 * one (the rate-limiter cells are the store's, looked up by the same keys, so no counter is lost). A path's cached
 * decision also carries the service's decision generation, which every event, operator hold and handover moves on.
 *
 * <p>Threading: lock-free (concurrent maps of immutable views; a decision is one volatile reference).
 */
final class PathViews {

    /** Domains remembered before the caches start afresh (many thousand domains share a few hundred sites). */
    private static final int MAX_DOMAINS = 200_000;

    final Rules rules;
    final EgressModel model;
    final long strategies;
    private final BiFunction<Site, String, StrategyRegistry.Effective> assign;
    private final ThrottleStore store;
    private final ConcurrentHashMap<String, SiteView> sites = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Rules.Totals> sourceTotals = new ConcurrentHashMap<>();
    /** The answer of choose for each source, built once. */
    private final ConcurrentHashMap<String, Optional<EgressSource>> chosen = new ConcurrentHashMap<>();
    /** Sender domain to pool (delivery asks once per message). */
    private final ConcurrentHashMap<String, String> pools = new ConcurrentHashMap<>();
    private int domains;

    PathViews(Rules rules, EgressModel model, long strategies, BiFunction<Site, String, StrategyRegistry.Effective>
            assign, ThrottleStore store) {
        this.rules = rules;
        this.model = model;
        this.strategies = strategies;
        this.assign = assign;
        this.store = store;
    }

    /** A site's views for one Site value (a Site of the same key with other MX hosts or provider replaces them). */
    static final class SiteView {
        final Site site;
        final ConcurrentHashMap<String, DomainView> domains = new ConcurrentHashMap<>();

        SiteView(Site site) {
            this.site = site;
        }
    }

    /** A (site, recipient domain): what every source's path to it shares. */
    static final class DomainView {
        final Site site;
        final String domain;
        final String provider;
        final Rules.Totals siteTotals;
        final StrategyRegistry.Effective strategy;
        final String warmupTarget;
        final ConcurrentHashMap<String, PathView> paths = new ConcurrentHashMap<>();

        DomainView(Site site, String domain, String provider, Rules.Totals siteTotals,
                   StrategyRegistry.Effective strategy) {
            this.site = site;
            this.domain = domain;
            this.provider = provider;
            this.siteTotals = siteTotals;
            this.strategy = strategy;
            this.warmupTarget = Warmup.target(provider, site.key());
        }
    }

    /** One path (source x site) for one recipient domain. */
    static final class PathView {
        final EgressPath path;
        final DomainView to;
        final Limits configured;
        final Rules.Totals sourceTotals;
        final WarmupPlan warmup;
        final ThrottleStore.PathCells messages;
        final ThrottleStore.PathCells connections;
        volatile Decision decision;

        PathView(EgressPath path, DomainView to, Limits configured, Rules.Totals sourceTotals, WarmupPlan warmup,
                 ThrottleStore.PathCells messages, ThrottleStore.PathCells connections) {
            this.path = path;
            this.to = to;
            this.configured = configured;
            this.sourceTotals = sourceTotals;
            this.warmup = warmup;
            this.messages = messages;
            this.connections = connections;
        }
    }

    /**
     * A path's decision as the strategy, the pool check and the operator holds made it.
     *
     * @param generation the service's decision generation it was made in
     * @param expires it is made again from this instant on (end of a suspension, or its maximum age)
     */
    record Decision(PathDecision decision, long generation, Instant expires) {
    }

    DomainView domain(Site site, String domain) {
        String d = domain == null ? "" : domain;
        SiteView sv = sites.get(site.key());
        if (sv == null || sv.site != site && !sv.site.equals(site)) {
            sv = new SiteView(site);
            sites.put(site.key(), sv);
        }
        DomainView dv = sv.domains.get(d);
        if (dv == null) {
            if (++domains > MAX_DOMAINS) { // racy count: a bound, not a budget
                domains = 0;
                sites.clear();
            }
            String provider = rules.providerOf(site, domain);
            dv = new DomainView(site, domain, provider, rules.siteTotals(site, domain), assign.apply(site, domain));
            DomainView raced = sv.domains.putIfAbsent(d, dv);
            dv = raced != null ? raced : dv;
        }
        return dv;
    }

    PathView path(String source, Site site, String domain) {
        DomainView dv = domain(site, domain);
        PathView pv = dv.paths.get(source);
        if (pv == null) {
            EgressPath p = new EgressPath(source, site.key());
            String path = "path:" + p;
            String siteKey = "site:" + site.key();
            String sourceKey = "source:" + source;
            pv = new PathView(p, dv, rules.resolve(site, domain, source).limits(), sourceTotals(source),
                    rules.warmupFor(source, dv.provider), store.cells(path, siteKey, sourceKey),
                    store.cells("conn-" + path, "conn-" + siteKey, "conn-" + sourceKey));
            PathView raced = dv.paths.putIfAbsent(source, pv);
            pv = raced != null ? raced : pv;
        }
        return pv;
    }

    Rules.Totals sourceTotals(String source) {
        Rules.Totals t = sourceTotals.get(source);
        return t != null ? t : sourceTotals.computeIfAbsent(source, rules::sourceTotals);
    }

    /** The pool of a sender domain, as {@link EgressModel#poolFor}. */
    String poolFor(String senderDomain) {
        if (senderDomain == null) {
            return model.poolFor(null);
        }
        String p = pools.get(senderDomain);
        if (p == null) {
            p = model.poolFor(senderDomain);
            if (pools.size() < MAX_DOMAINS) {
                pools.put(senderDomain, p);
            }
        }
        return p;
    }

    /** The configured source as choose answers it (one Optional per source, not one per call). */
    Optional<EgressSource> chosen(String source) {
        Optional<EgressSource> o = chosen.get(source);
        return o != null ? o : chosen.computeIfAbsent(source, s -> Optional.ofNullable(model.sources().get(s)));
    }
}
