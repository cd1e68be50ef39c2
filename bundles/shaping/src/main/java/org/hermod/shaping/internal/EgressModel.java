package org.hermod.shaping.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Pool;
import org.hermod.api.shaping.Site;

/**
 * The egress part of the configuration as data: sources, pools, the sender-domain-to-pool mapping and the strategy
 * assignments, parsed from {@link ShapingConfig}. Immutable; a configuration change builds a new one. Entries that do
 * not parse are reported in {@link #errors()} and left out.
 */
public record EgressModel(Map<String, EgressSource> sources, Map<String, Pool> pools, String defaultPool,
                          Map<String, String> senderPools, Map<String, String> providerStrategies,
                          Map<String, String> siteStrategies, String defaultStrategy, List<String> errors) {

    public EgressModel {
        sources = Collections.unmodifiableMap(new LinkedHashMap<>(sources)); // in configured order
        pools = Collections.unmodifiableMap(new LinkedHashMap<>(pools));
        senderPools = Map.copyOf(senderPools);
        providerStrategies = Map.copyOf(providerStrategies);
        siteStrategies = Map.copyOf(siteStrategies);
        errors = List.copyOf(errors);
    }

    public static EgressModel parse(String sourcesText, String poolsText, String defaultPool, String senderText,
                                    String assignmentsText) {
        List<String> errors = new ArrayList<>();
        Map<String, EgressSource> sources = new LinkedHashMap<>();
        for (String entry : split(sourcesText, ",")) {
            int eq = entry.indexOf('=');
            String name = (eq < 0 ? entry : entry.substring(0, eq)).strip();
            String rest = eq < 0 ? "" : entry.substring(eq + 1).strip();
            int slash = rest.lastIndexOf('/');
            String address = slash < 0 ? rest : rest.substring(0, slash);
            String ehlo = slash < 0 ? "" : rest.substring(slash + 1).strip();
            if (name.isEmpty() || name.contains("->") || sources.containsKey(name)) {
                errors.add("source '" + entry + "': empty, duplicate or containing '->'");
                continue;
            }
            sources.put(name, new EgressSource(name, address, ehlo));
        }
        Map<String, Pool> pools = new LinkedHashMap<>();
        for (String entry : split(poolsText, ";")) {
            int colon = entry.indexOf(':');
            if (colon <= 0) {
                errors.add("pool '" + entry + "': expected name: source*weight, ...");
                continue;
            }
            String name = entry.substring(0, colon).strip();
            List<Pool.Member> members = new ArrayList<>();
            for (String m : split(entry.substring(colon + 1), ",")) {
                int star = m.indexOf('*');
                String src = (star < 0 ? m : m.substring(0, star)).strip();
                int weight = 1;
                try {
                    weight = star < 0 ? 1 : Integer.parseInt(m.substring(star + 1).strip());
                } catch (NumberFormatException e) {
                    weight = 0;
                }
                if (!sources.containsKey(src) || weight < 1) {
                    errors.add("pool " + name + ": member '" + m + "' is not a configured source with weight >= 1");
                    continue;
                }
                members.add(new Pool.Member(src, weight));
            }
            pools.put(name, new Pool(name, members));
        }
        String dp = defaultPool == null || defaultPool.isBlank() ? "default" : defaultPool.strip();
        if (!pools.containsKey(dp)) {
            List<Pool.Member> all = new ArrayList<>();
            sources.keySet().forEach(s -> all.add(new Pool.Member(s, 1)));
            pools.put(dp, new Pool(dp, all));
        }
        Map<String, String> senders = new LinkedHashMap<>();
        for (String entry : split(senderText, ",")) {
            int eq = entry.indexOf('=');
            if (eq <= 0 || !pools.containsKey(entry.substring(eq + 1).strip())) {
                errors.add("senderPools '" + entry + "': expected domain=pool with a configured pool");
                continue;
            }
            senders.put(entry.substring(0, eq).strip().toLowerCase(Locale.ROOT), entry.substring(eq + 1).strip());
        }
        Map<String, String> byProvider = new LinkedHashMap<>();
        Map<String, String> bySite = new LinkedHashMap<>();
        String defaultStrategy = AdaptiveStrategy.NAME;
        for (String entry : split(assignmentsText, ";")) {
            int eq = entry.lastIndexOf('=');
            String what = eq < 0 ? "" : entry.substring(0, eq).strip();
            String strategy = eq < 0 ? "" : entry.substring(eq + 1).strip();
            if (strategy.isEmpty()) {
                errors.add("strategyAssignments '" + entry + "': expected provider:NAME=strategy, site:KEY=strategy"
                        + " or default=strategy");
            } else if (what.equals("default")) {
                defaultStrategy = strategy;
            } else if (what.startsWith("provider:")) {
                byProvider.put(what.substring(9).strip().toLowerCase(Locale.ROOT), strategy);
            } else if (what.startsWith("site:")) {
                bySite.put(what.substring(5).strip().toLowerCase(Locale.ROOT), strategy);
            } else {
                errors.add("strategyAssignments '" + entry + "': expected provider:, site: or default");
            }
        }
        return new EgressModel(sources, pools, dp, senders, byProvider, bySite, defaultStrategy, errors);
    }

    /** The pool for a sender domain: exact, then its parent domains, then the default pool. */
    public String poolFor(String senderDomain) {
        String d = senderDomain == null ? "" : senderDomain.strip().toLowerCase(Locale.ROOT);
        while (!d.isEmpty()) {
            String p = senderPools.get(d);
            if (p != null) {
                return p;
            }
            int dot = d.indexOf('.');
            d = dot < 0 ? "" : d.substring(dot + 1);
        }
        return defaultPool;
    }

    /** The strategy name assigned to a site: by site key, then by provider, then the default. */
    public String strategyFor(Site site, String provider) {
        String s = site == null ? null : siteStrategies.get(site.key().toLowerCase(Locale.ROOT));
        if (s == null && provider != null) {
            s = providerStrategies.get(provider.toLowerCase(Locale.ROOT));
        }
        return s == null ? defaultStrategy : s;
    }

    private static List<String> split(String text, String sep) {
        List<String> out = new ArrayList<>();
        if (text == null) {
            return out;
        }
        for (String s : text.split(sep)) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }
}
