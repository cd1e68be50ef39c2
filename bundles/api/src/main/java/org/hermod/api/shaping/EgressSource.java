package org.hermod.api.shaping;

import java.util.Objects;

/**
 * A local identity mail leaves from (a PowerMTA "virtual MTA", a KumoMTA egress source).
 *
 * @param name the operator's name for it, unique
 * @param address the local IP address connections are made from, or null for the system's choice
 * @param ehloName the name given in EHLO from this source (should match the address's PTR record)
 */
public record EgressSource(String name, String address, String ehloName) {

    public EgressSource {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(ehloName, "ehloName");
        address = address == null || address.isBlank() ? null : address.trim();
    }
}
