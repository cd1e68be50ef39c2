package org.hermod.api.filter;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The operator's view of and control over the routing filters (what the shell commands use): the filters known, their
 * versions and counters, taking one out of the chain and back, and returning a filter bundle to its previous version.
 * A service of the routing bundle; thread-safe.
 */
@ProviderType
public interface FilterAdmin {

    /** Every filter registered now (enabled or not), in chain order (ranking, highest first). */
    List<FilterInfo> filters();

    /**
     * Takes the filter out of the chain (new transactions no longer call it) without uninstalling it; remembered
     * across restarts. False when it was disabled already.
     *
     * @throws IllegalArgumentException when no filter of that name is registered
     */
    boolean disable(String name);

    /** Puts a disabled filter back into the chain; false when it was not disabled. */
    boolean enable(String name);

    /**
     * Returns the bundle that provides the filter to the version installed before its current one (each call goes
     * one version further back), and records that in the filter event log.
     *
     * @throws IllegalArgumentException when no filter of that name is registered
     * @throws IllegalStateException when there is no earlier version kept, or the update failed
     */
    Rollback rollback(String name);

    /**
     * One filter as the console shows it.
     *
     * @param name the filter's name ({@link FilterProperties#NAME})
     * @param bundle the providing bundle's symbolic name
     * @param version the providing bundle's version
     * @param bundleId the providing bundle's id
     * @param stages the stages it serves
     * @param ranking its {@code service.ranking}
     * @param enabled false when an operator disabled it
     * @param counters its counters since the routing bundle started
     * @param versions the versions of the bundle kept for rollback, oldest first
     */
    record FilterInfo(String name, String bundle, String version, long bundleId, Set<FilterChain.Stage> stages,
                      int ranking, boolean enabled, FilterCounters counters, List<String> versions) {
    }

    /**
     * Counters of one filter (all its stages and versions).
     *
     * @param calls calls made
     * @param decisions decisions returned, by action (failures counted as the action they produced)
     * @param errors calls that threw (or returned nothing)
     * @param timeouts calls that ran past the budget (or found the filter's concurrency limit exhausted)
     * @param meanMillis mean call latency
     * @param p99Millis 99th percentile call latency (upper bound of its histogram bucket)
     */
    record FilterCounters(long calls, Map<FilterDecision.Action, Long> decisions, long errors, long timeouts,
                          double meanMillis, double p99Millis) {
    }

    /**
     * A rollback done.
     *
     * @param name the filter
     * @param bundle the bundle's symbolic name
     * @param from the version it had
     * @param to the version it has now
     */
    record Rollback(String name, String bundle, String from, String to) {
    }
}
