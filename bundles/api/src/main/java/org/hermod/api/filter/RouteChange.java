package org.hermod.api.filter;

import java.util.LinkedHashMap;
import java.util.Map;

import org.hermod.api.routing.Route;

/**
 * A change to a message's route: fields that are set replace the route's, tags are added (a null tag value removes
 * the tag). Changes of successive filters apply in chain order, so a later filter wins.
 *
 * @param pool the egress pool, or null for no change
 * @param smarthost {@code host:port} to relay through, or null for no change
 * @param tenant the tenant, or null for no change
 * @param campaign the campaign, or null for no change
 * @param priority the priority, or null for no change
 * @param tags tags to set (null value: remove)
 */
public record RouteChange(String pool, String smarthost, String tenant, String campaign, Integer priority,
                          Map<String, String> tags) {

    public static final RouteChange NONE = new RouteChange(null, null, null, null, null, Map.of());

    public RouteChange {
        tags = tags == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tags));
        // validate early, with the same rules as Route
        apply(Route.DEFAULT, pool, smarthost, tenant, campaign, priority, tags);
    }

    public static RouteChange pool(String pool) {
        return NONE.withPool(pool);
    }

    public static RouteChange smarthost(String hostPort) {
        return NONE.withSmarthost(hostPort);
    }

    public RouteChange withPool(String p) {
        return new RouteChange(p, smarthost, tenant, campaign, priority, tags);
    }

    public RouteChange withSmarthost(String s) {
        return new RouteChange(pool, s, tenant, campaign, priority, tags);
    }

    public RouteChange withTenant(String t) {
        return new RouteChange(pool, smarthost, t, campaign, priority, tags);
    }

    public RouteChange withCampaign(String c) {
        return new RouteChange(pool, smarthost, tenant, c, priority, tags);
    }

    public RouteChange withPriority(int p) {
        return new RouteChange(pool, smarthost, tenant, campaign, p, tags);
    }

    public RouteChange withTag(String name, String value) {
        Map<String, String> t = new LinkedHashMap<>(tags);
        t.put(name, value);
        return new RouteChange(pool, smarthost, tenant, campaign, priority, t);
    }

    /** True when this changes nothing. */
    public boolean isEmpty() {
        return pool == null && smarthost == null && tenant == null && campaign == null && priority == null
                && tags.isEmpty();
    }

    /** This change followed by {@code later} (whose set fields win). */
    public RouteChange then(RouteChange later) {
        if (later.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return later;
        }
        Map<String, String> t = new LinkedHashMap<>(tags);
        t.putAll(later.tags);
        return new RouteChange(later.pool != null ? later.pool : pool,
                later.smarthost != null ? later.smarthost : smarthost, later.tenant != null ? later.tenant : tenant,
                later.campaign != null ? later.campaign : campaign, later.priority != null ? later.priority : priority,
                t);
    }

    /** The route with this change applied. */
    public Route applyTo(Route route) {
        return apply(route, pool, smarthost, tenant, campaign, priority, tags);
    }

    private static Route apply(Route r, String pool, String smarthost, String tenant, String campaign,
                               Integer priority, Map<String, String> tags) {
        Route out = new Route(pool != null ? pool : r.pool(), smarthost != null ? smarthost : r.smarthost(),
                tenant != null ? tenant : r.tenant(), campaign != null ? campaign : r.campaign(),
                priority != null ? priority : r.priority(), r.tags());
        for (Map.Entry<String, String> e : tags.entrySet()) {
            out = out.withTag(e.getKey(), e.getValue());
        }
        return out;
    }
}
