package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.apache.karaf.features.FeaturesService;
import org.hermod.api.filter.FilterAdmin;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Routing filters hot-deployed into the real distribution and checked on the wire: filter bundles built at test time
 * ({@link TestFilterBundles}) are installed, updated, rolled back, disabled, made to throw and to hang, and the example
 * filter feature is installed, while real SMTP clients talk to Hermod and mail arrives at Postfix's smtp-sink.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class FilterIT extends RelayTestSupport {

    @Inject
    FilterAdmin filters;

    @Inject
    BundleContext context;

    @Inject
    FeaturesService features;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return relayOptions();
    }

    private Path jars() {
        return Paths.get(System.getProperty("karaf.data"), "itest-filter-jars");
    }

    private int smtpPort() throws Exception {
        return prop("org.hermod.smtp", "port");
    }

    private SmtpTestClient greeted() throws Exception {
        SmtpTestClient c = SmtpTestClient.connect(smtpPort());
        assertTrue(c.reply().startsWith("220"));
        assertTrue(c.command("EHLO app.test").startsWith("250"));
        return c;
    }

    /** The reply to RCPT TO:&lt;to&gt; in a new session and transaction. */
    private String rcptReply(String to) throws Exception {
        try (SmtpTestClient c = greeted()) {
            assertTrue(c.command("MAIL FROM:<app@senders.test>").startsWith("250"));
            return c.command("RCPT TO:<" + to + ">");
        }
    }

    private Bundle bundle(String name) {
        for (Bundle b : context.getBundles()) {
            if (("org.hermod.itests.filter." + name).equals(b.getSymbolicName())) {
                return b;
            }
        }
        return null;
    }

    private FilterAdmin.FilterInfo info(String name) {
        return filters.filters().stream().filter(f -> f.name().equals(name)).findFirst().orElse(null);
    }

    /** What bundle:install -s does (the shell's bundle: and feature: commands need an admin subject here). */
    private void install(Path jar, String name) throws Exception {
        context.installBundle(jar.toUri().toString()).start();
        await("filter " + name + " in the chain", 20, () -> info(name));
    }

    private void uninstall(String name) throws Exception {
        bundle(name).uninstall();
        await("filter " + name + " gone", 20, () -> info(name) == null);
    }

    @Test
    public void aFilterInstalledAtRuntimeAppliesToNewTransactionsWhileAnOpenOneFinishes() throws Exception {
        assertTrue(rcptReply("filtered-1@ok.test").startsWith("250"));
        try (SmtpTestClient early = greeted()) {
            assertTrue(early.command("MAIL FROM:<app@senders.test>").startsWith("250"));
            install(TestFilterBundles.write(jars(), "hot", "1.0.0", Map.of("Hermod-Test-Mode", "reject",
                    "Hermod-Test-Reply", "hot filter v1 says no")), "hot");

            assertEquals("550 5.7.1 hot filter v1 says no", rcptReply("filtered-2@ok.test").strip());
            String r = early.command("RCPT TO:<filtered-early@ok.test>");
            assertTrue("the transaction begun before the install keeps its chain: " + r, r.startsWith("250"));
            assertTrue(early.command("DATA").startsWith("354"));
            early.send("Subject: filter-begun-before\r\n\r\nbody\r\n.\r\n");
            assertTrue(early.reply().startsWith("250 2.0.0"));
            assertTrue("the next transaction on the same connection uses the new chain",
                    early.sendMail("app@senders.test", "filtered-3@ok.test", "Subject: x\r\n\r\nx")
                            .startsWith("550 5.7.1 hot filter v1"));
        }
        await("the message accepted before the filter arrived", 30,
                () -> sinkMessageWith("Subject: filter-begun-before"));
        uninstall("hot");
        assertTrue(rcptReply("filtered-4@ok.test").startsWith("250"));
    }

    @Test
    public void updateToV2ThenRollbackToV1EachSeenOnTheWire() throws Exception {
        install(TestFilterBundles.write(jars(), "versioned", "1.0.0", Map.of("Hermod-Test-Mode", "reject",
                "Hermod-Test-Reply", "versioned v1")), "versioned");
        assertEquals("550 5.7.1 versioned v1", rcptReply("filtered@ok.test").strip());
        long id = bundle("versioned").getBundleId();

        Path v2 = TestFilterBundles.write(jars(), "versioned", "2.0.0", Map.of("Hermod-Test-Mode", "reject",
                "Hermod-Test-Reply", "versioned v2"));
        try (java.io.InputStream in = Files.newInputStream(v2)) { // bundle:update id url
            bundle("versioned").update(in);
        }
        await("v2 in the chain", 20, () -> "2.0.0".equals(info("versioned").version()) ? true : null);
        await("v2 answering on the wire", 20,
                () -> "550 5.7.1 versioned v2".equals(rcptReply("filtered@ok.test").strip()) ? true : null);
        await("both versions kept", 20, () -> info("versioned").versions().equals(List.of("1.0.0", "2.0.0")));

        String list = console("hermod:filter-list");
        assertTrue(list, list.contains("versioned") && list.contains("2.0.0") && list.contains("rcpt")
                && list.contains("kept 1.0.0,2.0.0"));

        String out = console("hermod:filter-rollback versioned");
        assertTrue(out, out.contains("rolled back from 2.0.0 to 1.0.0"));
        await("v1 in the chain again", 20, () -> info("versioned") != null
                && "1.0.0".equals(info("versioned").version()) ? true : null);
        // the bundle is updated in place: its version shows before its restarted filter service is in the chain
        await("v1 answering on the wire again", 20,
                () -> "550 5.7.1 versioned v1".equals(rcptReply("filtered@ok.test").strip()) ? true : null);
        assertEquals("the same bundle, updated in place", id, bundle("versioned").getBundleId());

        String again = console("hermod:filter-rollback versioned");
        assertTrue(again, again.contains("Error: ") && again.contains("no version of"));
        Path log = Paths.get(System.getProperty("karaf.data"), "hermod", "log", "filters.jsonl");
        String events = await("rollback in the event log", 10,
                () -> Files.exists(log) && Files.readString(log).contains("\"rollback\"") ? Files.readString(log)
                        : null);
        assertTrue(events, events.contains("\"from\":\"2.0.0\"") && events.contains("\"to\":\"1.0.0\""));
        uninstall("versioned");
    }

    @Test
    public void aFilterThatThrowsDefersTheMessageAndNothingIsLost() throws Exception {
        install(TestFilterBundles.write(jars(), "thrower", "1.0.0", Map.of("Hermod-Test-Mode", "throw")), "thrower");
        int queuedBefore = queues.queueIds(null, Integer.MAX_VALUE).size();
        try (SmtpTestClient c = greeted()) {
            String r = c.sendMail("app@senders.test", "rcpt@ok.test", "Subject: filter-throws\r\n\r\nbody");
            assertTrue(r, r.startsWith("451 4.3.0"));
            assertTrue("the session goes on", c.command("RSET").startsWith("250"));
        }
        assertEquals("not queued", queuedBefore, queues.queueIds(null, Integer.MAX_VALUE).size());
        FilterAdmin.FilterCounters counters = info("thrower").counters();
        assertEquals(1, counters.errors());

        assertTrue(console("hermod:filter-disable thrower").contains("thrower: disabled"));
        assertFalse(console("hermod:filter-list").matches("(?s).*thrower[^\\n]*yes.*"));
        try (SmtpTestClient c = greeted()) { // the client retries, as a 4xx asks it to
            String r = c.sendMail("app@senders.test", "rcpt@ok.test", "Subject: filter-throws\r\n\r\nbody");
            assertTrue(r, r.startsWith("250 2.0.0"));
        }
        await("the retried message delivered", 30, () -> sinkMessageWith("Subject: filter-throws"));
        assertTrue(console("hermod:filter-enable thrower").contains("thrower: enabled"));
        uninstall("thrower");
    }

    @Test
    public void aFilterSleepingPastItsBudgetDoesNotStallOtherSessions() throws Exception {
        install(TestFilterBundles.write(jars(), "sleeper", "1.0.0", Map.of("Hermod-Test-Mode", "sleep",
                "Hermod-Test-Timeout", "500")), "sleeper");
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<String>> slow = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                slow.add(pool.submit(() -> rcptReply("slow@ok.test")));
            }
            long t0 = System.nanoTime();
            String id = submit("app@senders.test", "filter-not-stalled", "rcpt@ok.test");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue("a whole transaction took " + ms + " ms beside 12 hanging filter calls", ms < 5000);
            assertFalse(id.isEmpty());
            for (Future<String> f : slow) {
                String r = f.get(20, TimeUnit.SECONDS);
                assertTrue(r, r.startsWith("451 4.3.0"));
            }
            assertTrue(info("sleeper").counters().timeouts() >= 12);
        } finally {
            pool.shutdownNow();
            uninstall("sleeper");
        }
        await("the other session's message delivered", 30, () -> sinkMessageWith("Subject: filter-not-stalled"));
    }

    @Test
    public void theExampleFilterFeatureHotDeploys() throws Exception {
        Hashtable<String, Object> cfg = new Hashtable<>();
        cfg.put("blockedDomains", "blocked.test");
        cfg.put("tenants", "tenant-app.test=acme");
        configAdmin.getConfiguration("org.hermod.example.filter", null).update(cfg);
        features.installFeature("hermod-example-filter"); // feature:install hermod-example-filter
        await("example filters in the chain", 60, () -> info("example-blocklist") != null
                && info("example-tenant-stamp") != null);
        assertTrue(rcptReply("someone@blocked.test").startsWith("550 5.7.1 Recipient domain blocked.test"));
        assertTrue(rcptReply("someone@ok.test").startsWith("250"));
        try (SmtpTestClient c = greeted()) {
            String r = c.sendMail("app@tenant-app.test", "rcpt@ok.test",
                    "Subject: example-tenant\r\nX-Tenant: forged\r\n\r\nbody");
            assertTrue(r, r.startsWith("250 2.0.0"));
        }
        String got = await("stamped message at the sink", 30, () -> sinkMessageWith("Subject: example-tenant"));
        assertTrue(got, got.contains("X-Tenant: acme") && !got.contains("forged"));
        features.uninstallFeature("hermod-example-filter");
        await("example filters gone", 30, () -> info("example-blocklist") == null);
        assertTrue(rcptReply("someone@blocked.test").startsWith("250"));
    }
}
