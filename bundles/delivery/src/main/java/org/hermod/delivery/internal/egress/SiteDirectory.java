package org.hermod.delivery.internal.egress;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Supplier;

import org.hermod.api.shaping.Site;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.dns.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rolls destination domains up into sites: domains whose MX host set is the same are one site (the key is the sorted,
 * lower-cased MX host names), so that limits and connections are shared by, say, every Google-hosted domain. Lookups
 * go through the MX resolver (and its TTL cache) off the dispatcher thread; until a domain's site is known the
 * dispatcher leaves its mail queued and is woken when the answer arrives. Entries are refreshed after a minute.
 */
public final class SiteDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(SiteDirectory.class);
    private static final long REFRESH_NANOS = 60_000_000_000L;

    private record Entry(Site site, long resolvedAt) {
    }

    private final Map<String, Entry> byDomain = new ConcurrentHashMap<>();
    private final Map<String, Boolean> resolving = new ConcurrentHashMap<>();
    private final Supplier<MxResolver> resolver;
    private final BiFunction<List<String>, String, String> providerOf;
    private final Runnable onResolved;

    /**
     * @param providerOf the provider matching (MX hosts, domain), or null
     * @param onResolved called (on a resolver thread) when a domain's site became known
     */
    public SiteDirectory(Supplier<MxResolver> resolver, BiFunction<List<String>, String, String> providerOf,
                         Runnable onResolved) {
        this.resolver = resolver;
        this.providerOf = providerOf;
        this.onResolved = onResolved;
    }

    /** The domain's site when known (a stale entry is returned while it is refreshed), else null and a lookup starts. */
    public Site siteOf(String domain) {
        Entry e = byDomain.get(domain);
        if (e == null || System.nanoTime() - e.resolvedAt() > REFRESH_NANOS) {
            lookup(domain);
        }
        return e == null ? null : e.site();
    }

    private void lookup(String domain) {
        if (resolving.putIfAbsent(domain, Boolean.TRUE) != null) {
            return;
        }
        try {
            resolver.get().resolve(domain).whenComplete((route, t) -> {
                resolving.remove(domain);
                Site site = t != null ? new Site(domain, null, List.of()) : siteOf(route, domain);
                boolean first = byDomain.put(domain, new Entry(site, System.nanoTime())) == null;
                if (first) {
                    onResolved.run();
                }
            });
        } catch (RuntimeException e) {
            resolving.remove(domain);
            LOG.warn("site lookup for {} failed: {}", domain, e.toString());
            byDomain.put(domain, new Entry(new Site(domain, null, List.of()), System.nanoTime()));
            onResolved.run();
        }
    }

    /** The site of a resolved route: its MX hosts; the domain itself for a failure or an implicit MX. */
    Site siteOf(Route route, String domain) {
        if (route.failed() || route.implicit() || route.hosts().isEmpty()) {
            return new Site(domain, provider(List.of(), domain), List.of());
        }
        List<String> names = new ArrayList<>();
        for (MxHost h : route.hosts()) {
            String n = h.name().toLowerCase(Locale.ROOT);
            names.add(n.endsWith(".") ? n.substring(0, n.length() - 1) : n);
        }
        List<String> sorted = new ArrayList<>(names);
        java.util.Collections.sort(sorted);
        return new Site(String.join(",", sorted), provider(names, domain), names);
    }

    private String provider(List<String> mx, String domain) {
        try {
            return providerOf.apply(mx, domain);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Domains known per site (for the console). */
    public Map<String, List<String>> domainsBySite() {
        Map<String, List<String>> out = new java.util.TreeMap<>();
        byDomain.forEach((d, e) -> out.computeIfAbsent(e.site().key(), k -> new ArrayList<>()).add(d));
        out.values().forEach(java.util.Collections::sort);
        return out;
    }

    /** The known site of a domain without starting a lookup, or null. */
    public Site known(String domain) {
        Entry e = byDomain.get(domain);
        return e == null ? null : e.site();
    }
}
