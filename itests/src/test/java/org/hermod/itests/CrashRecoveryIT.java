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
                Thread.sleep(50);
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
}
