package org.hermod.delivery.internal.egress;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

import org.hermod.api.routing.Route.HostPort;
import org.hermod.api.shaping.Site;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.dns.Route;

/**
 * A smarthost a message is routed to ({@code host:port} or {@code [address]:port}, {@link
 * org.hermod.api.routing.Route#smarthostAddress()}): it replaces the recipients' MX hosts. Its site is {@code
 * smarthost:[host]:port}, so limits, connection reuse and shaping apply per smarthost and every domain routed to it
 * shares its connections. Its address comes from an A/AAAA lookup of the host through delivery's resolver (never MX);
 * an address literal needs no lookup. A host without addresses, or a failed lookup, defers (4.4.3): a misconfigured
 * or unreachable smarthost must not bounce the mail routed to it.
 */
public final class Smarthost {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private Smarthost() {
    }

    /** The smarthost of a route, or null when it has none (or its value is unusable). */
    public static HostPort of(org.hermod.api.routing.Route route) {
        try {
            return route == null ? null : route.smarthostAddress();
        } catch (IllegalArgumentException e) {
            return null; // the API validates it on construction; never trust a foreign implementation blindly
        }
    }

    /** The site of a smarthost: {@code smarthost:[host]:port} (host lower case), no provider. */
    public static Site site(HostPort h) {
        String host = h.host().toLowerCase(Locale.ROOT);
        return new Site("smarthost:[" + host + "]:" + h.port(), null, List.of(host));
    }

    /** Whether the host is an IPv4 or IPv6 address literal (no lookup needed). */
    static boolean isLiteral(String host) {
        return host.indexOf(':') >= 0 || IPV4.matcher(host).matches();
    }

    /**
     * The smarthost as the one "exchanger" to try: its addresses in the resolver's family order. Never completes
     * exceptionally; a failure is a temporary one.
     */
    public static CompletionStage<Route> resolve(MxResolver resolver, HostPort h) {
        String host = h.host();
        if (host.regionMatches(true, 0, "IPv6:", 0, 5)) {
            host = host.substring(5);
        }
        if (isLiteral(host)) {
            try {
                InetAddress a = InetAddress.getByName(host); // a literal: parsed, never looked up
                return CompletableFuture.completedFuture(Route.of(List.of(new MxHost(host, 0, List.of(a))), false));
            } catch (UnknownHostException e) {
                return CompletableFuture.completedFuture(Route.temporary("4.4.3", "bad smarthost address " + host));
            }
        }
        String name = host;
        try {
            return resolver.hostAddresses(name).handle((addresses, t) -> {
                if (t != null || addresses == null || addresses.isEmpty()) {
                    return Route.temporary("4.4.3", "smarthost " + name + " has no address (A/AAAA)"
                            + (t == null ? "" : ": " + t));
                }
                return Route.of(List.of(new MxHost(name.toLowerCase(Locale.ROOT), 0, addresses)), false);
            });
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(Route.temporary("4.4.3", "smarthost " + name + " lookup failed: " + e));
        }
    }
}
