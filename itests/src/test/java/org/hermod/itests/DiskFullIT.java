package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Disk full, for real: the spool lives on a small tmpfs the test mounts, Hermod runs as a user runs it, and a filler
 * file takes the space away. New mail gets {@code 452 4.3.1}, mail already queued is still delivered to a real SMTP
 * sink, acceptance resumes by itself once the filler is deleted, and every message answered with 250 arrives exactly
 * once. Once with the free-space floor (the normal case), once without it, so that a write really fails with ENOSPC.
 */
public class DiskFullIT {

    private static final int TMPFS_MB = 16;
    private static final long MIB = 1024 * 1024;
    private static final String BODY = ("x".repeat(78) + "\r\n").repeat(40); // about 3 KiB a message

    /** What a client gets for a full spool (the SMTP server's mapping of SpoolFullException). */
    static final String SPOOL_FULL_REPLY = "452 4.3.1";

    private final int dnsPort = HermodKaraf.freePort();
    private final int mxPort = HermodKaraf.freePort();
    private TmpfsMount tmpfs;
    private Dnsmasq dns;
    private SmtpPeer sink;

    @Before
    public void mountSpoolAndStartPeers() throws Exception {
        tmpfs = TmpfsMount.mount(Paths.get("target", "diskfull-spool"), TMPFS_MB);
        dns = new Dnsmasq(dnsPort, List.of("--mx-host=dest.test,mx.dest.test,10",
                "--host-record=mx.dest.test,127.0.0.1"));
        sink = new SmtpPeer("127.0.0.1", mxPort, (r, n) -> "250 2.1.5 Ok", 0);
    }

    @After
    public void unmount() throws IOException {
        if (sink != null) {
            sink.close();
        }
        if (dns != null) {
            dns.close();
        }
        if (tmpfs != null) {
            tmpfs.close();
        }
    }

    private Map<String, Map<String, String>> config(int minFreeSpaceMb) {
        Map<String, Map<String, String>> cfg = new LinkedHashMap<>();
        cfg.put("org.hermod.spool", Map.of("directory", tmpfs.dir().resolve("spool").toString(),
                "segmentSizeMb", "1", "compactIntervalSeconds", "1", "minFreeSpaceMb", String.valueOf(minFreeSpaceMb)));
        cfg.put("org.hermod.delivery", Map.of("dnsServers", "127.0.0.1:" + dnsPort, "smtpPort", String.valueOf(mxPort),
                "retryInitial", "1s", "retryMax", "2s", "connectTimeout", "3s"));
        return cfg;
    }

    /** One message on a fresh connection; the reply to the first command that was not accepted, or the final one. */
    private static String submit(KarafProcess karaf, String subject) throws IOException {
        try (SmtpTestClient c = new SmtpTestClient("127.0.0.1", karaf.smtpPort())) {
            c.reply();
            c.command("EHLO app.test");
            return c.sendMail("app@sender.test", "rcpt@dest.test", "Subject: " + subject + "\r\n\r\n" + BODY);
        }
    }

    /** Submits {@code n} messages that must all be accepted; adds their subjects to {@code acked}. */
    private static void submitAccepted(KarafProcess karaf, String prefix, int n, Set<String> acked) throws IOException {
        for (int i = 0; i < n; i++) {
            String r = submit(karaf, prefix + "-" + i);
            assertTrue(prefix + "-" + i + ": " + r, r.startsWith("250"));
            acked.add(prefix + "-" + i);
        }
    }

    /**
     * Submits until one is refused with a 4xx (at most {@code tries}); accepted ones join {@code acked}.
     *
     * @return the refusal
     */
    private static String submitUntilRefused(KarafProcess karaf, String prefix, int tries, Set<String> acked)
            throws Exception {
        for (int i = 0; i < tries; i++) {
            String r = submit(karaf, prefix + "-" + i);
            if (r.startsWith("250")) {
                acked.add(prefix + "-" + i);
            } else {
                return r;
            }
            Thread.sleep(50); // pacing: the free space is read once a second
        }
        fail("no message was refused although the spool's file system is full");
        return null;
    }

    /** Submits until one is accepted again (the spool reads the free space about once a second). */
    private static void awaitAcceptance(KarafProcess karaf, String prefix, Set<String> acked) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        for (int i = 0; System.nanoTime() < deadline; i++) {
            String r = submit(karaf, prefix + "-" + i);
            if (r.startsWith("250")) {
                acked.add(prefix + "-" + i);
                return;
            }
            assertTrue("refused with something else than " + SPOOL_FULL_REPLY + ": " + r,
                    r.startsWith(SPOOL_FULL_REPLY));
            Thread.sleep(200); // polling interval until acceptance resumes (deadline 15 s)
        }
        fail("acceptance did not resume within 15 s of space returning");
    }

    /** A temporary refusal because the spool is full. */
    private static void assertRefusedAsFull(KarafProcess karaf, String reply) throws IOException {
        assertTrue("a full spool answers " + SPOOL_FULL_REPLY + ": " + reply, reply.startsWith(SPOOL_FULL_REPLY));
        assertTrue("the spool refused because it is full", karaf.log().contains(" is full ("));
    }

    /** Waits until every acknowledged subject reached the sink; then checks none arrived twice. */
    private void assertDeliveredExactlyOnce(Set<String> acked) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            counts.clear();
            Pattern p = Pattern.compile("Subject: (\\S+)");
            for (SmtpPeer.Received r : sink.received()) {
                Matcher m = p.matcher(r.data());
                if (m.find()) {
                    counts.merge(m.group(1), 1, Integer::sum);
                }
            }
            if (counts.keySet().containsAll(acked)) {
                break;
            }
            Thread.sleep(250); // polling interval until every acknowledged message arrived (deadline 90 s)
        }
        Set<String> missing = new TreeSet<>(acked);
        missing.removeAll(counts.keySet());
        assertEquals("acknowledged with 250 but never delivered", Set.of(), missing);
        Set<String> twice = new TreeSet<>();
        counts.forEach((s, n) -> {
            if (n > 1) {
                twice.add(s + " x" + n);
            }
        });
        assertEquals("delivered more than once", Set.of(), twice);
        Set<String> unexpected = new TreeSet<>(counts.keySet());
        unexpected.removeAll(acked);
        assertEquals("delivered although refused", Set.of(), unexpected);
    }

    @Test
    public void belowTheFreeSpaceFloorNewMailGets452QueuedMailIsDeliveredAndAcceptanceResumes() throws Exception {
        Set<String> acked = new TreeSet<>();
        try (KarafProcess karaf = KarafProcess.unpack("diskfull-floor", config(4))) {
            karaf.start();
            karaf.console("hermod:queue-suspend dest.test"); // the mail queued before the disk fills waits
            submitAccepted(karaf, "before", 30, acked);

            Path filler = tmpfs.dir().resolve("filler");
            tmpfs.fill(filler, 2 * MIB); // below the 4 MiB floor, with room left for delivery outcomes
            String refusal = submitUntilRefused(karaf, "while-full", 50, acked);
            assertRefusedAsFull(karaf, refusal);

            karaf.console("hermod:queue-resume dest.test"); // delivery goes on while the disk is full
            assertDeliveredExactlyOnce(acked);
            assertTrue("still full: still refused", submit(karaf, "still-full").startsWith(SPOOL_FULL_REPLY));

            Files.delete(filler);
            awaitAcceptance(karaf, "after", acked);
            submitAccepted(karaf, "after-more", 10, acked);
            assertDeliveredExactlyOnce(acked);
            String log = karaf.log();
            assertTrue("the refusal is logged with the floor", log.contains("below the floor"));
            assertTrue("the recovery is logged", log.contains("accepting new mail"));
        }
    }

    @Test
    public void aJournalWriteFailingWithEnospcRefusesTheMessageAndCorruptsNothing() throws Exception {
        Set<String> acked = new TreeSet<>();
        try (KarafProcess karaf = KarafProcess.unpack("diskfull-enospc", config(0))) {
            karaf.start();
            karaf.console("hermod:queue-suspend dest.test");
            submitAccepted(karaf, "before", 20, acked);

            Path filler = tmpfs.dir().resolve("filler");
            tmpfs.fill(filler, 0); // every byte: the next journal write fails with ENOSPC
            String refusal = submitUntilRefused(karaf, "while-full", 200, acked);
            assertRefusedAsFull(karaf, refusal);

            // a crash now: what is on disk must replay, with every acknowledged message and nothing refused
            karaf.kill9();
            Files.delete(filler);
            karaf.start();
            String ids = karaf.console("hermod:queue-list --ids");
            assertEquals("queued after the restart: the acknowledged messages", acked.size(),
                    ids.lines().filter(l -> !l.isBlank()).count());
            assertTrue(karaf.log(), !karaf.log().contains("refuses to open"));

            awaitAcceptance(karaf, "after", acked);
            karaf.console("hermod:queue-resume dest.test");
            assertDeliveredExactlyOnce(acked);
        }
    }
}
