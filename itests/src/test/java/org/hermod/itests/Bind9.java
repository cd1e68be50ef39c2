package org.hermod.itests;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A real authoritative DNS server, BIND's {@code named} (Debian package bind9), on a loopback port, serving zones given
 * as zone-file text; the signed ones are DNSSEC-signed first with {@code dnssec-keygen} and {@code dnssec-signzone}
 * (package bind9-utils), and their key-signing keys written to {@link #trustAnchors()} for a validating resolver.
 */
final class Bind9 implements Closeable {

    private final ChildProcess process;
    private final Path anchors;

    /** Starts named on the configuration {@link #prepare} wrote in {@code dir}; waits until it serves {@code zone}. */
    Bind9(Path dir, int port, String zone) throws Exception {
        String named = require("/usr/sbin/named", "bind9");
        anchors = dir.resolve("trust-anchors.key");
        process = ChildProcess.start(new ArrayList<>(List.of(named, "-g", "-c", dir.resolve("named.conf").toString())));
        Await.until("named answers for " + zone + " on port " + port, 20, () -> process.isAlive() && soa(port, zone));
    }

    /**
     * Writes the zones (signing the signed ones), the trust anchors and named's configuration into {@code dir}.
     *
     * @param zones zone name to zone-file body (SOA and NS are added)
     * @param signed the zones to sign
     * @return the trust anchor file
     */
    static Path prepare(Path dir, int port, Map<String, String> zones, List<String> signed) throws Exception {
        String keygen = require("/usr/bin/dnssec-keygen", "bind9-utils");
        String signzone = require("/usr/bin/dnssec-signzone", "bind9-utils");
        Files.createDirectories(dir);
        Path anchors = dir.resolve("trust-anchors.key");
        StringBuilder anchorText = new StringBuilder();
        StringBuilder conf = new StringBuilder("options { directory \"" + dir + "\"; listen-on port " + port
                + " { 127.0.0.1; }; listen-on-v6 { none; }; pid-file \"" + dir.resolve("named.pid") + "\";"
                + " recursion no; dnssec-validation no; allow-query { any; }; notify no; };\n");
        for (Map.Entry<String, String> z : zones.entrySet()) {
            String zone = z.getKey();
            Path file = dir.resolve("db." + zone);
            Files.writeString(file, "$TTL 60\n$ORIGIN " + zone + ".\n@ IN SOA ns." + zone + ". hostmaster." + zone
                    + ". 1 3600 600 86400 60\n@ IN NS ns." + zone + ".\nns IN A 127.0.0.1\n" + z.getValue());
            if (signed.contains(zone)) {
                PemCerts.run(keygen, "-q", "-K", dir.toString(), "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE", zone);
                PemCerts.run(keygen, "-q", "-K", dir.toString(), "-a", "ECDSAP256SHA256", "-n", "ZONE", zone);
                Path out = dir.resolve("db." + zone + ".signed");
                PemCerts.run(signzone, "-S", "-K", dir.toString(), "-o", zone, "-f", out.toString(), file.toString());
                file = out;
                try (var keys = Files.list(dir)) {
                    for (Path k : keys.filter(p -> p.getFileName().toString().startsWith("K" + zone + ".+")
                            && p.toString().endsWith(".key")).toList()) {
                        for (String line : Files.readAllLines(k)) {
                            if (line.contains("DNSKEY 257 ")) {
                                anchorText.append(line).append('\n');
                            }
                        }
                    }
                }
            }
            conf.append("zone \"").append(zone).append("\" { type primary; file \"").append(file).append("\"; };\n");
        }
        Files.writeString(anchors, anchorText.toString());
        Path confFile = dir.resolve("named.conf");
        Files.writeString(confFile, conf.toString());
        return anchors;
    }

    /** True when the server answers the zone's SOA query with NOERROR (the zone is loaded). */
    private static boolean soa(int port, String zone) {
        java.io.ByteArrayOutputStream q = new java.io.ByteArrayOutputStream();
        q.writeBytes(new byte[] {0x42, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}); // id, no RD, one question
        for (String label : zone.split("\\.")) {
            q.write(label.length());
            q.writeBytes(label.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        q.writeBytes(new byte[] {0, 0, 6, 0, 1}); // root, type SOA, class IN
        try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
            s.setSoTimeout(300);
            byte[] b = q.toByteArray();
            s.send(new java.net.DatagramPacket(b, b.length, new java.net.InetSocketAddress("127.0.0.1", port)));
            java.net.DatagramPacket answer = new java.net.DatagramPacket(new byte[1500], 1500);
            s.receive(answer);
            return answer.getLength() >= 12 && (answer.getData()[3] & 0x0f) == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** The key-signing keys of the signed zones (DNSKEY records, zone-file format). */
    Path trustAnchors() {
        return anchors;
    }

    private static String require(String program, String debianPackage) {
        if (new File(program).canExecute()) {
            return program;
        }
        throw new AssertionError(program + " is not installed: install the Debian package '" + debianPackage
                + "' (./test.sh installs everything the tests need)");
    }

    @Override
    public void close() {
        process.stop();
    }
}
