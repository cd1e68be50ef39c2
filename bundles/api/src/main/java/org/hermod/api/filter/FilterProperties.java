package org.hermod.api.filter;

/**
 * Service properties a filter service may carry (besides {@code service.ranking}: higher runs first).
 */
public final class FilterProperties {

    /**
     * The filter's name, what the console shows and what {@code filter-rollback/disable/enable} take. Defaults to the
     * component name, else the service's class name. Versions of one filter share the name across bundle versions.
     */
    public static final String NAME = "hermod.filter.name";

    /** Time budget per call in milliseconds (default 2000). A call past it fails safe as {@link #ON_FAILURE} says. */
    public static final String TIMEOUT_MILLIS = "hermod.filter.timeout.ms";

    /**
     * What a failure (exception or timeout) does: {@code defer} (default: 451 4.3.0 for the transaction, the client
     * retries) or {@code reject} (554 5.3.0). There is deliberately no "skip": a failing filter never lets mail pass
     * unfiltered.
     */
    public static final String ON_FAILURE = "hermod.filter.onFailure";

    private FilterProperties() {
    }
}
