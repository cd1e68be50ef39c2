package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.Test;

/**
 * Durability: while clients submit mail at full speed, the Karaf JVM is killed with SIGKILL. After a restart on the same
 * data directory, every message that had been answered with 250 is queued again, intact; nothing half-written shows.
 */
public class CrashRecoveryIT {

    @Test
    public void everyAcknowledgedMessageSurvivesKillDashNine() throws Exception {
        // delivery must not take the messages away during the test: its resolver points at a closed port
        Map<String, Map<String, String>> cfg = Map.of("org.hermod.delivery",
                Map.of("dnsServers", "127.0.0.1:" + HermodKaraf.freePort()));
        try (KarafProcess karaf = KarafProcess.unpack("crash", cfg)) {
            karaf.start();
            Set<String> acked = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService clients = Executors.newFixedThreadPool(8);
            for (int t = 0; t < 8; t++) {
                int thread = t;
                clients.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        try (SmtpTestClient c = new SmtpTestClient("127.0.0.1", karaf.smtpPort())) {
                            c.reply();
                            c.command("EHLO load.test");
                            while (!stop.get()) {
                                String subject = "crash-" + thread + "-" + (n++);
                                String r = c.sendMail("load@sender.test", "r" + thread + "@crash.test",
                                        "Subject: " + subject + "\r\n\r\n" + ("x".repeat(78) + "\r\n").repeat(25));
                                if (r == null || !r.startsWith("250")) {
                                    break;
                                }
                                acked.add(r.substring(r.lastIndexOf(' ') + 1).trim());
                            }
                        } catch (Exception e) {
                            // the server died under us: expected
                        }
                    }
                    return null;
                });
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (acked.size() < 400 && System.nanoTime() < deadline) {
                Thread.sleep(50); // polling interval until 400 acknowledgements (deadline 60 s)
            }
            karaf.kill9();
            stop.set(true);
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
            Set<String> ackedAtKill = new HashSet<>(acked);
            assertTrue("load ran before the kill: " + ackedAtKill.size(), ackedAtKill.size() >= 400);

            karaf.start();
            String ids = karaf.console("hermod:queue-list --ids");
            Set<String> queued = new HashSet<>(List.of(ids.split("\\s+")));
            Set<String> lost = new HashSet<>(ackedAtKill);
            lost.removeAll(queued);
            assertEquals("acknowledged but lost after kill -9: " + lost, Set.of(), lost);
            // content intact: a sample shows its own subject
            String one = ackedAtKill.iterator().next();
            String show = karaf.console("hermod:queue-show " + one);
            assertTrue(show, show.contains("Subject: crash-"));
            assertTrue(karaf.log(), karaf.log().contains("messages queued"));
        }
    }

    @Test
    public void killDashNineDuringDeliveryLosesNothing() throws Exception {
        int dnsPort = HermodKaraf.freePort();
        int mxPort = HermodKaraf.freePort();
        Map<String, Map<String, String>> cfg = Map.of("org.hermod.delivery", Map.of(
                "dnsServers", "127.0.0.1:" + dnsPort, "smtpPort", String.valueOf(mxPort),
                "maxConnectionsPerDomain", "2", "retryInitial", "2s", "retryMax", "2s", "connectTimeout", "2s"));
        try (Dnsmasq dns = new Dnsmasq(dnsPort, List.of("--mx-host=slow.test,mx.slow.test,10",
                "--host-record=mx.slow.test,127.0.0.1"));
             SmtpPeer destination = new SmtpPeer("127.0.0.1", mxPort, (r, n) -> "250 2.1.5 Ok", 40);
             KarafProcess karaf = KarafProcess.unpack("crash-delivery", cfg)) {
            karaf.start();
            Set<String> subjects = ConcurrentHashMap.newKeySet();
            ExecutorService clients = Executors.newFixedThreadPool(4);
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                done.add(clients.submit(() -> {
                    try (SmtpTestClient c = new SmtpTestClient("127.0.0.1", karaf.smtpPort())) {
                        c.reply();
                        c.command("EHLO load.test");
                        for (int i = 0; i < 75; i++) {
                            String subject = "deliver-" + thread + "-" + i;
                            String r = c.sendMail("load@sender.test", "r" + i + "@slow.test",
                                    "Subject: " + subject + "\r\n\r\nbody\r\n");
                            assertTrue(r, r.startsWith("250"));
                            subjects.add(subject);
                        }
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
            clients.shutdown();
            assertEquals(300, subjects.size());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (destination.received().size() < 40 && System.nanoTime() < deadline) {
                Thread.sleep(20); // polling interval until 40 deliveries (deadline 60 s)
            }
            int before = destination.received().size();
            assertTrue("delivery was under way: " + before, before >= 40 && before < 300);
            karaf.kill9();

            karaf.start();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            Set<String> delivered = new HashSet<>();
            while (System.nanoTime() < deadline) {
                delivered.clear();
                for (SmtpPeer.Received r : destination.received()) {
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("Subject: (\\S+)").matcher(r.data());
                    if (m.find()) {
                        delivered.add(m.group(1));
                    }
                }
                if (delivered.containsAll(subjects)) {
                    break;
                }
                Thread.sleep(250); // polling interval until every subject arrived (deadline 120 s)
            }
            Set<String> missing = new HashSet<>(subjects);
            missing.removeAll(delivered);
            assertEquals("accepted but never delivered after kill -9 during delivery", Set.of(), missing);
            String list = karaf.console("hermod:queue-list");
            for (int i = 0; i < 40 && !list.contains("Queue is empty"); i++) {
                Thread.sleep(250); // polling interval until the queue is empty (at most 40 tries)
                list = karaf.console("hermod:queue-list");
            }
            assertTrue(list, list.contains("Queue is empty"));
            System.out.println("kill -9 during delivery: " + before + " delivered before the kill, "
                    + (destination.received().size() - 300) + " delivered twice (at-least-once)");
        }
    }
}
