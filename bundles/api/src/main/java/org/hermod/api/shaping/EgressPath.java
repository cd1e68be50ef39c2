package org.hermod.api.shaping;

import java.util.Objects;

/**
 * Source × site: the unit of ready queues, connection reuse and per-path limits.
 *
 * @param source the {@link EgressSource#name()}
 * @param site the {@link Site#key()}
 */
public record EgressPath(String source, String site) {

    public EgressPath {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(site, "site");
    }

    @Override
    public String toString() {
        return source + "->" + site;
    }
}
