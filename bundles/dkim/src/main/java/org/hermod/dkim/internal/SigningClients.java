package org.hermod.dkim.internal;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

import org.hermod.api.filter.SessionInfo;

/**
 * Whose mail is signed: mail from authenticated sessions, locally generated mail (DSNs), and mail from clients in the
 * configured networks. Anything else (mail from the Internet to a relay domain that claims to be From: one of our
 * domains) is not signed, or Hermod would lend its signature to spoofed mail.
 */
final class SigningClients {

    /** One network: the address as a number and the prefix length, for IPv4 (32 bits) or IPv6 (128). */
    private record Net(BigInteger base, int bits, int prefix) {
        boolean contains(byte[] addr) {
            if (addr.length * 8 != bits) {
                return false;
            }
            int shift = bits - prefix;
            return new BigInteger(1, addr).shiftRight(shift).equals(base.shiftRight(shift));
        }
    }

    private final boolean authenticated;
    private final List<Net> networks;

    private SigningClients(boolean authenticated, List<Net> networks) {
        this.authenticated = authenticated;
        this.networks = List.copyOf(networks);
    }

    /**
     * From a comma-separated list of {@code authenticated} and networks ({@code 127.0.0.0/8}, {@code ::1},
     * {@code 192.0.2.10}).
     */
    static SigningClients parse(String spec) {
        boolean auth = false;
        List<Net> nets = new ArrayList<>();
        for (String s : spec == null ? new String[0] : spec.split("[,\\s]+")) {
            if (s.isBlank()) {
                continue;
            }
            if (s.equalsIgnoreCase("authenticated")) {
                auth = true;
                continue;
            }
            int slash = s.indexOf('/');
            byte[] a = literal(slash < 0 ? s : s.substring(0, slash));
            int p;
            try {
                p = a == null ? -1 : slash < 0 ? a.length * 8 : Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (a == null || p < 0 || p > a.length * 8) {
                throw new IllegalArgumentException("signClients: not 'authenticated' nor an IP network: " + s);
            }
            nets.add(new Net(new BigInteger(1, a), a.length * 8, p));
        }
        return new SigningClients(auth, nets);
    }

    boolean signs(SessionInfo session) {
        if (session == null || "local".equals(session.listener())) {
            return true;
        }
        if (authenticated && session.authUser() != null) {
            return true;
        }
        byte[] a = literal(session.clientAddress());
        return a != null && networks.stream().anyMatch(n -> n.contains(a));
    }

    /** The address bytes of a textual IP address (IPv4-mapped IPv6 as IPv4), never a DNS lookup; null if not one. */
    private static byte[] literal(String ip) {
        if (ip == null || ip.isEmpty() || !(ip.indexOf(':') >= 0 || ip.chars().allMatch(c -> c == '.'
                || Character.isDigit(c)))) {
            return null;
        }
        try {
            String s = ip.startsWith("[") && ip.endsWith("]") ? ip.substring(1, ip.length() - 1) : ip;
            return InetAddress.getByName(s).getAddress(); // Java maps ::ffff:a.b.c.d to an Inet4Address
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
