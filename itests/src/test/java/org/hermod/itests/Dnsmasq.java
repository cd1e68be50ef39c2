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
        while (!listening(port)) { // dnsmasq has bound its UDP port when we can no longer bind it
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("dnsmasq did not start (is the Debian package dnsmasq-base installed?"
                        + " ./test.sh installs it): " + cmd);
            }
            Thread.sleep(20); // polling interval of the bounded wait above
        }
    }

    @Override
    public void close() {
        process.stop();
    }

    private static boolean listening(int port) {
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(new java.net.InetSocketAddress("127.0.0.1", port))) {
            return false;
        } catch (java.net.SocketException e) {
            return true;
        }
    }
}
