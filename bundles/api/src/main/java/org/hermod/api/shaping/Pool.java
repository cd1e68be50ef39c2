package org.hermod.api.shaping;

import java.util.List;
import java.util.Objects;

/**
 * A named, weighted set of sources (a PowerMTA "virtual MTA pool"). Which pool a message uses comes from its sender's
 * domain (configuration) until routing sets it per message.
 *
 * @param name the pool's name
 * @param members its sources with their weights
 */
public record Pool(String name, List<Member> members) {

    public Pool {
        Objects.requireNonNull(name, "name");
        members = List.copyOf(members);
    }

    /**
     * @param source an {@link EgressSource#name()}
     * @param weight its share of the pool's traffic relative to the others (>= 1)
     */
    public record Member(String source, int weight) {
    }
}
