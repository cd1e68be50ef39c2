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
        String exe = new java.io.File("/usr/sbin/dnsmasq").exists() ? "/usr/sbin/dnsmasq" : "dnsmasq";
        List<String> cmd = new ArrayList<>(List.of(exe, "--keep-in-foreground", "--port=" + port, "--no-resolv",
                "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root",
                "--pid-file", "--log-facility=-"));
        cmd.addAll(records);
        process = ChildProcess.start(cmd);
        Thread.sleep(500);
        if (!process.isAlive()) {
            throw new IOException("dnsmasq did not start (is the dnsmasq-base package installed?): " + cmd);
        }
    }

    @Override
    public void close() {
        process.stop();
    }
}
