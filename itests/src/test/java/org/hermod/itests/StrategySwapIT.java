package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.Site;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;

/**
 * A shaping strategy swapped at runtime while mail flows: a path throttled by the adaptive strategy (a Yahoo-style
 * {@code 421 4.7.0 [TSS04]}), then the example strategy bundle installed, the site assigned to it through Config Admin,
 * the bundle uninstalled — with a client injecting mail over SMTP the whole time. Every accepted message reaches the
 * destination exactly once, and the path stays throttled through both handovers.
 *
 * <p>Site mx.s.test (127.0.0.9) serves s1.test; one source on 127.0.0.1.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class StrategySwapIT extends ShapingTestSupport {

    static final Site SITE = new Site("mx.s.test", null, List.of("mx.s.test"));
    static final EgressPath PATH = new EgressPath("one", SITE.key());

    static final List<String> RULES = List.of(
            "version swap-it-1",
            "limits connections=4 messagesPerConnection=100 rate=40/s recipients=100",
            "on reply=421 text=/TSS04/ -> decrease 0.5",
            "# no recovery within the test: the throttle must come from the handover, not be re-earned",
            "recovery step=10% deliveries=100000 quiet=1d floor=1/m min=5%");

    @Inject
    Shaping shaping;


    @Inject
    BundleContext bundleContext;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() throws Exception {
        return shapingOptions(RULES,
                editConfigurationFilePut("etc/org.hermod.shaping.cfg", "sources", "one=127.0.0.1/one.hermod.test"),
                editConfigurationFilePut("etc/system.properties", "hermod.it.version",
                        System.getProperty("project.version", "0.2.0-SNAPSHOT")));
    }


    private Limits inForce() {
        return shaping.decide(PATH, SITE, "s1.test", Instant.now()).limits();
    }

    private String strategyOfSite() {
        return shaping.explain(PATH, SITE, "s1.test").strategy();
    }

    private void assign(String assignments) throws Exception {
        Configuration c = configAdmin.getConfiguration("org.hermod.shaping", null);
        Dictionary<String, Object> p = c.getProperties();
        p.put("strategyAssignments", assignments);
        c.update(p);
    }

    @Test
    public void aStrategyInstalledAssignedAndUninstalledUnderLoadLosesNoMailAndKeepsTheThrottle() throws Exception {
        Dnsmasq dnsmasq = new Dnsmasq(prop("org.hermod.delivery", "dnsServers"),
                List.of("--mx-host=s1.test,mx.s.test,10", "--host-record=mx.s.test,127.0.0.9"));
        Runtime.getRuntime().addShutdownHook(new Thread(dnsmasq::close));
        CountingPeer site = new CountingPeer("127.0.0.9", prop("org.hermod.delivery", "smtpPort"));
        int smtp = prop("org.hermod.smtp", "port");

        // 1. the adaptive strategy halves the path on Yahoo's throttling reply
        AtomicBoolean throttled = new AtomicBoolean();
        site.answerRcpt(r -> r.startsWith("first@") && throttled.compareAndSet(false, true)
                ? "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume"
                : "250 2.1.5 Ok");
        Set<String> accepted = java.util.concurrent.ConcurrentHashMap.newKeySet();
        accepted.addAll(submit(smtp, List.of("first@s1.test")));
        Await.until("the adaptive strategy halves the path", 30, () -> inForce().maxConnections() == 2);
        assertEquals(20.0, inForce().messagesPerSecond(), 1e-9);

        // 2. mail flows from here to the end
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Void> injector = CompletableFuture.runAsync(() -> {
            int n = 0;
            while (!stop.get()) {
                List<String> batch = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    batch.add("m" + n++ + "@s1.test");
                }
                try {
                    accepted.addAll(submit(smtp, batch));
                    // the path is throttled to 20/s while Hermod accepts hundreds a second: keep the backlog small so
                    // that the final drain takes seconds, whatever the machine's load
                    while (!stop.get() && accepted.size() - site.accepted() > 40) {
                        Thread.sleep(20); // polling interval of a bounded backlog, not a wait for an outcome
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        Await.until("mail flowing before the swap", 60, () -> site.accepted() >= 20);

        // 3. the example strategy bundle is installed and the site assigned to it
        String version = System.getProperty("hermod.it.version");
        Bundle example = bundleContext.installBundle("mvn:org.hermod/hermod-example-strategy/" + version);
        example.start();
        assign("site:mx.s.test=gentle; default=adaptive");
        Await.until("the site is served by gentle", 30, () -> strategyOfSite().equals("gentle"));
        String show = KarafConsole.run(sessions, "hermod:shaping-show s1.test");
        assertTrue(show, show.contains("gentle"));
        assertEquals("the halved limits were handed over to gentle", 2, inForce().maxConnections());
        assertEquals(20.0, inForce().messagesPerSecond(), 1e-9);
        int beforeUninstall = site.accepted();
        Await.until("mail delivered while gentle serves the site", 60, () -> site.accepted() >= beforeUninstall + 20);

        // 4. the bundle goes away: adaptive serves the site again, with the state gentle held
        example.uninstall();
        Await.until("adaptive serves the site again", 30, () -> strategyOfSite().startsWith("adaptive"));
        assertEquals("the halved limits came back from gentle", 2, inForce().maxConnections());
        assertEquals(20.0, inForce().messagesPerSecond(), 1e-9);
        int afterUninstall = site.accepted();
        Await.until("mail delivered after the uninstall", 60, () -> site.accepted() >= afterUninstall + 20);
        assign("default=adaptive");

        // 5. stop injecting; everything accepted arrives, once
        stop.set(true);
        injector.get(60, TimeUnit.SECONDS);
        Await.until("every accepted message delivered (" + accepted.size() + ")", 120,
                () -> site.accepted() >= accepted.size());
        List<String> delivered = site.connections().stream().flatMap(c -> c.recipients.stream())
                .collect(Collectors.toList());
        Map<String, Long> times = delivered.stream().collect(Collectors.groupingBy(r -> r, Collectors.counting()));
        Set<String> missing = new HashSet<>();
        for (String id : accepted) {
            if (!times.containsKey(id)) {
                missing.add(id);
            }
        }
        assertEquals("no accepted message lost", Set.of(), missing);
        assertEquals("no message delivered twice", Map.of(), times.entrySet().stream().filter(e -> e.getValue() > 1)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        assertTrue("the injection overlapped the swap: " + accepted.size(), accepted.size() >= 60);
        site.close();
    }

    /** Submits one message per recipient over one SMTP session; returns the recipients the server accepted. */
    private static List<String> submit(int port, List<String> recipients) throws Exception {
        List<String> ok = new ArrayList<>();
        try (SmtpTestClient c = SmtpTestClient.connect(port)) {
            c.reply();
            c.command("EHLO app.test");
            for (String to : recipients) {
                String r = c.sendMail("app@senders.test", to, "Subject: swap\r\nFrom: app@senders.test\r\n\r\nbody");
                if (r.startsWith("250 2.0.0 Ok: queued as ")) {
                    ok.add(to);
                }
            }
        }
        return ok;
    }
}
