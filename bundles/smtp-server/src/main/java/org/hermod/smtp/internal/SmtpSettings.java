package org.hermod.smtp.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The SMTP server's settings, parsed once per configuration change and shared read-only by all sessions. */
record SmtpSettings(String hostname, long maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerIp,
                    long commandTimeoutMillis, long dataTimeoutMillis, int maxErrors, List<Cidr> mynetworks,
                    Set<String> relayDomains, boolean normalizeBareNewlines, boolean refuseSuppressed,
                    String postmaster, long commandLineBudgetMillis, int minDataRate, boolean chunking,
                    boolean starttls, String authRealm, String authRole, boolean authUserInReceived,
                    int maxAuthFailuresPerIp, long authFailureWindowMillis, int maxMessagesPerIpPerMinute,
                    int maxRecipientsPerIpPerMinute, int maxErrorsPerIpPerMinute, String recipientDelimiter,
                    int maxConnectionsPerIpPerMinute, long maxSessionMillis, boolean filtersRequired,
                    boolean delayMailFilters) {

    static SmtpSettings from(SmtpServerConfig c) {
        String host = c.hostname();
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getCanonicalHostName();
            } catch (UnknownHostException e) {
                host = "localhost";
            }
        }
        List<Cidr> nets = new ArrayList<>();
        for (String n : split(c.mynetworks())) {
            nets.add(Cidr.parse(n));
        }
        Set<String> relay = new HashSet<>();
        for (String d : split(c.relayDomains())) {
            relay.add(d.toLowerCase(Locale.ROOT));
        }
        String bare = c.bareNewline() == null ? "reject" : c.bareNewline().trim().toLowerCase(Locale.ROOT);
        if (!bare.equals("reject") && !bare.equals("normalize")) {
            throw new IllegalArgumentException("bareNewline must be reject or normalize, not " + c.bareNewline());
        }
        return new SmtpSettings(host, c.maxMessageSize(), c.maxRecipients(), c.maxConnections(), c.maxConnectionsPerIp(),
                c.commandTimeoutSeconds() * 1000L, c.dataTimeoutSeconds() * 1000L, c.maxErrors(), List.copyOf(nets),
                Set.copyOf(relay), bare.equals("normalize"), c.refuseSuppressed(),
                c.postmaster() == null || c.postmaster().isBlank() ? "postmaster@" + host : c.postmaster().trim(),
                c.commandLineBudgetSeconds() * 1000L, c.minDataRate(), c.chunking(), c.starttls(),
                c.authRealm() == null || c.authRealm().isBlank() ? "karaf" : c.authRealm().trim(),
                c.authRole() == null ? "smtp-submit" : c.authRole().trim(), c.authUserInReceived(), c.maxAuthFailuresPerIp(),
                c.authFailureWindowSeconds() * 1000L, c.maxMessagesPerIpPerMinute(), c.maxRecipientsPerIpPerMinute(),
                c.maxErrorsPerIpPerMinute(), c.recipientDelimiter() == null ? "" : c.recipientDelimiter().trim(),
                c.maxConnectionsPerIpPerMinute(), Math.max(0, c.maxSessionSeconds()) * 1000L,
                c.filtersRequired(), c.delayMailFilters());
    }

    /** Config values may be arrays or comma/space separated strings (as written in etc/*.cfg). */
    static List<String> split(String[] values) {
        List<String> out = new ArrayList<>();
        if (values != null) {
            for (String v : values) {
                for (String part : v.split("[,\\s]+")) {
                    if (!part.isBlank()) {
                        out.add(part.trim());
                    }
                }
            }
        }
        return out;
    }

    boolean mayRelay(InetAddress client) {
        for (Cidr n : mynetworks) {
            if (n.contains(client)) {
                return true;
            }
        }
        return false;
    }

    /** True when the domain, or a parent of it, is a relay domain. */
    boolean isRelayDomain(String domain) {
        return inDomains(relayDomains, domain.toLowerCase(Locale.ROOT));
    }

    /** True when {@code domain} (lower case) or a parent of it is in {@code domains}: how domain lists match here. */
    static boolean inDomains(Set<String> domains, String domain) {
        String d = domain;
        while (true) {
            if (domains.contains(d)) {
                return true;
            }
            int dot = d.indexOf('.');
            if (dot < 0) {
                return false;
            }
            d = d.substring(dot + 1);
        }
    }

    /** An IPv4 or IPv6 network in CIDR notation. */
    record Cidr(byte[] network, int prefix) {
        static Cidr parse(String s) {
            int slash = s.indexOf('/');
            try {
                InetAddress a = InetAddress.getByName(slash < 0 ? s : s.substring(0, slash));
                byte[] b = a.getAddress();
                int p = slash < 0 ? b.length * 8 : Integer.parseInt(s.substring(slash + 1));
                if (p < 0 || p > b.length * 8) {
                    throw new IllegalArgumentException("bad prefix length in " + s);
                }
                return new Cidr(b, p);
            } catch (UnknownHostException | NumberFormatException e) {
                throw new IllegalArgumentException("not a network: " + s, e);
            }
        }

        boolean contains(InetAddress addr) {
            byte[] a = addr.getAddress();
            if (a.length != network.length) {
                // IPv4-mapped IPv6 client against an IPv4 network
                if (a.length == 16 && network.length == 4 && isMapped(a)) {
                    a = java.util.Arrays.copyOfRange(a, 12, 16);
                } else {
                    return false;
                }
            }
            int full = prefix / 8;
            for (int i = 0; i < full; i++) {
                if (a[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xFF << (8 - rest) & 0xFF;
            return (a[full] & mask) == (network[full] & mask);
        }

        private static boolean isMapped(byte[] a) {
            for (int i = 0; i < 10; i++) {
                if (a[i] != 0) {
                    return false;
                }
            }
            return a[10] == (byte) 0xFF && a[11] == (byte) 0xFF;
        }
    }
}
