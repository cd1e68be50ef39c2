package org.hermod.itests;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** A real DNS server (dnsmasq from Debian) on a loopback port, serving the MX and A records a test needs. */
public final class Dnsmasq implements Closeable {

    private final ChildProcess process;

    /** @param records dnsmasq options such as "--mx-host=a.test,mx.a.test,10" and "--host-record=mx.a.test,127.0.0.1" */
    public Dnsmasq(int port, List<String> records) throws IOException, InterruptedException {
        String exe = ExternalTool.DNSMASQ.require();
        List<String> cmd = new ArrayList<>(List.of(exe, "--keep-in-foreground", "--port=" + port, "--no-resolv",
                "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root",
                "--pid-file", "--log-facility=-"));
        cmd.addAll(records);
        process = ChildProcess.start(cmd);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!listening(port) || !process.isAlive()) { // until our dnsmasq (alive) answers a query
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("dnsmasq exited or did not answer within 10 s"
                        + " (see its output above): " + cmd);
            }
            Thread.sleep(20); // polling interval of the bounded wait above (each try also waits up to 200 ms)
        }
    }

    @Override
    public void close() {
        process.stop();
    }

    /** True when something answers a DNS query on the port (a query, unlike a probe bind, cannot take the port). */
    private static boolean listening(int port) {
        byte[] query = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header: id, RD, one question
            4, 'p', 'r', 'o', 'b', 0, 0, 1, 0, 1}; // "prob." IN A
        try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
            s.setSoTimeout(200);
            java.net.InetSocketAddress to = new java.net.InetSocketAddress("127.0.0.1", port);
            s.send(new java.net.DatagramPacket(query, query.length, to));
            java.net.DatagramPacket answer = new java.net.DatagramPacket(new byte[512], 512);
            s.receive(answer);
            return answer.getLength() >= 12;
        } catch (java.io.IOException e) {
            return false; // no answer yet (timeout, or ICMP port unreachable)
        }
    }
}
