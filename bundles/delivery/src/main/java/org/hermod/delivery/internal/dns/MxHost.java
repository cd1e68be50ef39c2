package org.hermod.delivery.internal.dns;

import java.net.InetAddress;
import java.util.List;

/**
 * One mail exchanger with its addresses, in the order they should be tried.
 *
 * @param name host name (no trailing dot), or the address literal for a domain literal
 * @param preference MX preference (0 for an implicit MX)
 * @param addresses IPv4 and IPv6 addresses, possibly empty when the host has none
 */
public record MxHost(String name, int preference, List<InetAddress> addresses) {
    public MxHost {
        addresses = List.copyOf(addresses);
    }
}
