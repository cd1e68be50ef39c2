package org.hermod.api.routing;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where and how a queued message is to be delivered, beyond its recipients: decided by routing filters (the rule router
 * or a custom filter bundle) when the message is accepted, stored with the message in the spool, and used by delivery
 * (smarthost, pool) and shaping (pool). Immutable; every field is optional.
 *
 * @param pool the egress source pool to send from, or null for shaping's mapping (sender domain, default pool)
 * @param smarthost {@code host:port} or {@code [address]:port} to relay through instead of the recipients' MX hosts,
 *        or null to look up MX records
 * @param tenant the tenant (customer) the message belongs to, or null
 * @param campaign the campaign or stream the message belongs to, or null
 * @param priority delivery priority; higher goes first among due mail of one destination, 0 is normal
 * @param tags further metadata travelling with the message (names and values are free text without line breaks)
 */
public record Route(String pool, String smarthost, String tenant, String campaign, int priority,
                    Map<String, String> tags) {

    /** No routing decision: MX delivery from the pool shaping chooses, normal priority. */
    public static final Route DEFAULT = new Route(null, null, null, null, 0, Map.of());

    public Route {
        pool = blankToNull(pool);
        smarthost = blankToNull(smarthost);
        tenant = blankToNull(tenant);
        campaign = blankToNull(campaign);
        tags = tags == null ? Map.of() : Map.copyOf(tags);
        if (smarthost != null) {
            parseSmarthost(smarthost);
        }
        for (Map.Entry<String, String> e : tags.entrySet()) {
            checkText(e.getKey());
            checkText(e.getValue());
        }
        checkText(pool);
        checkText(tenant);
        checkText(campaign);
    }

    /** True when nothing is set. */
    public boolean isDefault() {
        return equals(DEFAULT);
    }

    public Route withPool(String p) {
        return new Route(p, smarthost, tenant, campaign, priority, tags);
    }

    public Route withSmarthost(String s) {
        return new Route(pool, s, tenant, campaign, priority, tags);
    }

    public Route withTenant(String t) {
        return new Route(pool, smarthost, t, campaign, priority, tags);
    }

    public Route withCampaign(String c) {
        return new Route(pool, smarthost, tenant, c, priority, tags);
    }

    public Route withPriority(int p) {
        return new Route(pool, smarthost, tenant, campaign, p, tags);
    }

    /** A copy with one tag set (or removed when {@code value} is null). */
    public Route withTag(String name, String value) {
        Map<String, String> t = new LinkedHashMap<>(tags);
        if (value == null) {
            t.remove(name);
        } else {
            t.put(name, value);
        }
        return new Route(pool, smarthost, tenant, campaign, priority, t);
    }

    /** The smarthost's host (without brackets) and port; null when there is no smarthost. */
    public HostPort smarthostAddress() {
        return smarthost == null ? null : parseSmarthost(smarthost);
    }

    /** A smarthost's host name or address literal and port. */
    public record HostPort(String host, int port) {
    }

    private static HostPort parseSmarthost(String s) {
        int colon = s.lastIndexOf(':');
        String host;
        int port = 25;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || (close != s.length() - 1 && colon != close + 1)) {
                throw new IllegalArgumentException("smarthost must be host:port or [address]:port: " + s);
            }
            host = s.substring(1, close);
            if (close != s.length() - 1) {
                port = port(s.substring(close + 2), s);
            }
        } else if (colon >= 0) {
            host = s.substring(0, colon);
            port = port(s.substring(colon + 1), s);
        } else {
            host = s;
        }
        if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || c == ',' || c == '/' || c == '@')) {
            throw new IllegalArgumentException("smarthost has no valid host: " + s);
        }
        return new HostPort(host, port);
    }

    private static int port(String p, String s) {
        try {
            int port = Integer.parseInt(p);
            if (port > 0 && port < 65536) {
                return port;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("smarthost port must be 1-65535: " + s);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static void checkText(String s) {
        if (s == null) {
            return;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                throw new IllegalArgumentException("route values must not contain line breaks or NUL");
            }
        }
    }
}
