package org.hermod.routing.internal;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 network ({@code 192.0.2.0/24}, {@code 2001:db8::/32}) or single address. Never looks up names. */
final class Cidr {

    private final byte[] network;
    private final int bits;
    private final String source;

    private Cidr(byte[] network, int bits, String source) {
        this.network = network;
        this.bits = bits;
        this.source = source;
    }

    static Cidr parse(String s) {
        int slash = s.indexOf('/');
        byte[] addr = literal(slash < 0 ? s : s.substring(0, slash));
        if (addr == null) {
            throw new IllegalArgumentException("not an IP address or network: " + s);
        }
        int bits = addr.length * 8;
        if (slash >= 0) {
            try {
                bits = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad prefix length in " + s);
            }
            if (bits < 0 || bits > addr.length * 8) {
                throw new IllegalArgumentException("prefix length out of range in " + s);
            }
        }
        return new Cidr(addr, bits, s);
    }

    /** The address bytes of an IP literal, or null when it is not one (no DNS lookup is made). */
    static byte[] literal(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        String t = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        boolean v4 = t.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = t.contains(":") && t.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            return null;
        }
        try {
            return InetAddress.getByName(t).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    boolean contains(String address) {
        byte[] a = literal(address);
        if (a != null && a.length == 16 && network.length == 4 && isMappedV4(a)) {
            a = java.util.Arrays.copyOfRange(a, 12, 16);
        }
        if (a == null || a.length != network.length) {
            return false;
        }
        if (bits == 0) {
            return true;
        }
        BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE).shiftLeft(a.length * 8 - bits);
        return new BigInteger(1, a).and(mask).equals(new BigInteger(1, network).and(mask));
    }

    private static boolean isMappedV4(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    @Override
    public String toString() {
        return source;
    }
}
