package org.hermod.routing.internal;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import org.hermod.api.filter.ConnectFilter;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MailFilter;
import org.hermod.api.filter.PreDeliveryFilter;
import org.hermod.api.filter.RcptFilter;
import org.osgi.framework.Constants;

/**
 * One registered filter service (one service id) with the stages it is bound for, its settings from the service
 * properties, its counters and its concurrency limit (the bulkhead: calls in flight, including stuck ones), both
 * shared by every registration of the filter's name (every version of it), and whether it is the built-in router,
 * which has threads kept in reserve. Immutable apart from the counters and the limit: a bind for another stage gives a
 * new entry sharing both.
 */
final class FilterEntry {

    final long serviceId;
    final int ranking;
    final String name;
    final long bundleId;
    final String bundle;
    final String version;
    final long timeoutMillis;
    final boolean rejectOnFailure;
    final FilterStats stats;
    final CallLimit limit;
    final boolean reserved;
    private final Map<Stage, Object> filters;

    private FilterEntry(long serviceId, int ranking, String name, long bundleId, String bundle, String version,
                        long timeoutMillis, boolean rejectOnFailure, FilterStats stats, CallLimit limit,
                        boolean reserved, Map<Stage, Object> filters) {
        this.serviceId = serviceId;
        this.ranking = ranking;
        this.name = name;
        this.bundleId = bundleId;
        this.bundle = bundle;
        this.version = version;
        this.timeoutMillis = timeoutMillis;
        this.rejectOnFailure = rejectOnFailure;
        this.stats = stats;
        this.limit = limit;
        this.reserved = reserved;
        this.filters = filters;
    }

    /**
     * An entry from service properties.
     *
     * @param props the service properties
     * @param bundleId, bundle, version the providing bundle
     * @param defaultTimeout the budget when the service sets none
     * @param limit the calls of this filter in flight at most (shared by every version of a name)
     * @param reserved true for the built-in router, whose calls may use the threads other filters may not
     * @param stats the counters (shared by every version of a name)
     */
    static FilterEntry of(Map<String, ?> props, long bundleId, String bundle, String version, long defaultTimeout,
                          CallLimit limit, boolean reserved, FilterStats stats) {
        long id = ((Number) props.get(Constants.SERVICE_ID)).longValue();
        Object r = props.get(Constants.SERVICE_RANKING);
        int ranking = r instanceof Integer i ? i : 0;
        return new FilterEntry(id, ranking, nameOf(props), bundleId, bundle, version,
                positive(props.get(FilterProperties.TIMEOUT_MILLIS), defaultTimeout),
                "reject".equalsIgnoreCase(String.valueOf(props.get(FilterProperties.ON_FAILURE)).strip()), stats,
                limit, reserved, Map.of());
    }

    static String nameOf(Map<String, ?> props) {
        for (String key : new String[] {FilterProperties.NAME, "component.name"}) {
            Object v = props.get(key);
            if (v != null && !String.valueOf(v).isBlank()) {
                return String.valueOf(v).strip();
            }
        }
        Object oc = props.get(Constants.OBJECTCLASS);
        return oc instanceof String[] a && a.length > 0 ? a[0] + "#" + props.get(Constants.SERVICE_ID)
                : "filter#" + props.get(Constants.SERVICE_ID);
    }

    private static long positive(Object v, long dflt) {
        if (v == null) {
            return dflt;
        }
        try {
            long l = v instanceof Number n ? n.longValue() : Long.parseLong(String.valueOf(v).strip());
            return l > 0 ? l : dflt;
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** This entry also (or again) bound for a stage. */
    FilterEntry with(Stage stage, Object filter) {
        Map<Stage, Object> f = new EnumMap<>(Stage.class);
        f.putAll(filters);
        f.put(stage, filter);
        return new FilterEntry(serviceId, ranking, name, bundleId, bundle, version, timeoutMillis, rejectOnFailure,
                stats, limit, reserved, f);
    }

    /** This entry no longer bound for a stage; null when no stage is left. */
    FilterEntry without(Stage stage) {
        Map<Stage, Object> f = new EnumMap<>(Stage.class);
        f.putAll(filters);
        f.remove(stage);
        return f.isEmpty() ? null : new FilterEntry(serviceId, ranking, name, bundleId, bundle, version,
                timeoutMillis, rejectOnFailure, stats, limit, reserved, f);
    }

    /** The same filters with other properties (a modified service). */
    FilterEntry withProperties(FilterEntry props) {
        return new FilterEntry(serviceId, props.ranking, props.name, bundleId, bundle, version, props.timeoutMillis,
                props.rejectOnFailure, props.name.equals(name) ? stats : props.stats,
                props.name.equals(name) ? limit : props.limit, props.reserved, filters);
    }

    Set<Stage> stages() {
        return filters.isEmpty() ? EnumSet.noneOf(Stage.class) : EnumSet.copyOf(filters.keySet());
    }

    ConnectFilter connect() {
        return (ConnectFilter) filters.get(Stage.CONNECT);
    }

    MailFilter mail() {
        return (MailFilter) filters.get(Stage.MAIL);
    }

    RcptFilter rcpt() {
        return (RcptFilter) filters.get(Stage.RCPT);
    }

    DataFilter data() {
        return (DataFilter) filters.get(Stage.DATA);
    }

    PreDeliveryFilter preDelivery() {
        return (PreDeliveryFilter) filters.get(Stage.PRE_DELIVERY);
    }

    boolean serves(Stage stage) {
        return filters.containsKey(stage);
    }
}
