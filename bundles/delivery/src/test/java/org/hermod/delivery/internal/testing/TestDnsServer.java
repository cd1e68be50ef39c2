package org.hermod.delivery.internal.testing;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** A tiny authoritative DNS server on a UDP loopback port answering from an in-memory zone map. */
public final class TestDnsServer implements AutoCloseable {

    private final DatagramSocket socket;
    private final Map<String, List<Record>> records = new ConcurrentHashMap<>();
    private final Set<String> nxdomain = ConcurrentHashMap.newKeySet();
    private final Set<String> servfail = ConcurrentHashMap.newKeySet();
    private final Set<String> silent = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> queries = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile long ttl = 300;

    public TestDnsServer() throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = new Thread(this::serve, "test-dns");
        thread.setDaemon(true);
        thread.start();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    public TestDnsServer ttl(long seconds) {
        this.ttl = seconds;
        return this;
    }

    private static Name n(String s) {
        try {
            return Name.fromString(s.endsWith(".") ? s : s + ".");
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    private void add(Record r) {
        records.computeIfAbsent(key(r.getName(), r.getType()), k -> new ArrayList<>()).add(r);
    }

    public TestDnsServer mx(String domain, int pref, String host) {
        add(new MXRecord(n(domain), DClass.IN, ttl, pref, host.equals(".") ? Name.root : n(host)));
        return this;
    }

    public TestDnsServer a(String host, String ip) throws Exception {
        add(new ARecord(n(host), DClass.IN, ttl, InetAddress.getByName(ip)));
        return this;
    }

    public TestDnsServer aaaa(String host, String ip) throws Exception {
        add(new AAAARecord(n(host), DClass.IN, ttl, InetAddress.getByName(ip)));
        return this;
    }

    public TestDnsServer nxdomain(String name) {
        nxdomain.add(n(name).toString().toLowerCase());
        return this;
    }

    public TestDnsServer servfail(String name) {
        servfail.add(n(name).toString().toLowerCase());
        return this;
    }

    /** Never answers queries for the name (the client times out). */
    public TestDnsServer silent(String name) {
        silent.add(n(name).toString().toLowerCase());
        return this;
    }

    public int queries(String name, int type) {
        AtomicInteger c = queries.get(key(n(name), type));
        return c == null ? 0 : c.get();
    }

    private static String key(Name name, int type) {
        return name.toString().toLowerCase() + "/" + Type.string(type);
    }

    private void serve() {
        byte[] buf = new byte[4096];
        while (!socket.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                Message q = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                Record question = q.getQuestion();
                String name = question.getName().toString().toLowerCase();
                queries.computeIfAbsent(key(question.getName(), question.getType()), k -> new AtomicInteger()).incrementAndGet();
                if (silent.contains(name)) {
                    continue;
                }
                Message r = new Message(q.getHeader().getID());
                r.getHeader().setFlag(Flags.QR);
                r.getHeader().setFlag(Flags.AA);
                if (q.getHeader().getFlag(Flags.RD)) {
                    r.getHeader().setFlag(Flags.RD);
                    r.getHeader().setFlag(Flags.RA);
                }
                r.addRecord(question, Section.QUESTION);
                if (servfail.contains(name)) {
                    r.getHeader().setRcode(Rcode.SERVFAIL);
                } else if (nxdomain.contains(name)) {
                    r.getHeader().setRcode(Rcode.NXDOMAIN);
                } else {
                    for (Record rec : records.getOrDefault(key(question.getName(), question.getType()), List.of())) {
                        r.addRecord(rec, Section.ANSWER);
                    }
                }
                byte[] out = r.toWire();
                socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
            } catch (Exception e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
