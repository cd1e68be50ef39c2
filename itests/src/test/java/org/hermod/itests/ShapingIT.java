package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.hermod.api.delivery.EgressView;
import org.hermod.api.spool.QueueManager;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Traffic shaping inside the real distribution: two egress sources on loopback addresses, several domains rolling up
 * into one site behind a real DNS server (dnsmasq), destinations that watch how they are sent to (client address,
 * EHLO name, connections at once, messages per connection), a destination that answers Yahoo's throttling reply, and
 * the console.
 *
 * <p>Sites: mx.a.test (127.0.0.5) serves a1/a2/a3.test; mx.b.test (127.0.0.6) serves b1.test; mx.c.test (127.0.0.7)
 * serves c1/c2.test. Sources: one on 127.0.0.1 (EHLO one.hermod.test), one on 127.0.0.2 (two.hermod.test).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShapingIT extends ShapingTestSupport {

    static final List<String> RULES = List.of(
            "version shaping-it-1",
            "limits connections=2 messagesPerConnection=100 recipients=100",
            "on reply=421 text=/TSS04/ -> decrease 0.5",
            "recovery step=50% deliveries=2 quiet=10m floor=1/m min=5%");

    static boolean started;
    static CountingPeer siteA;
    static CountingPeer siteB;
    static CountingPeer siteC;

    @Inject
    QueueManager queues;

    @Inject
    EgressView egress;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() throws Exception {
        return shapingOptions(RULES,
                editConfigurationFilePut("etc/org.hermod.shaping.cfg", "sources",
                        "one=127.0.0.1/one.hermod.test, two=127.0.0.2/two.hermod.test"));
    }

    @Before
    public void startPeers() throws Exception {
        synchronized (ShapingIT.class) {
            if (started) {
                return;
            }
            int dns = prop("org.hermod.delivery", "dnsServers");
            int mx = prop("org.hermod.delivery", "smtpPort");
            Dnsmasq dnsmasq = new Dnsmasq(dns, List.of(
                    "--mx-host=a1.test,mx.a.test,10", "--mx-host=a2.test,mx.a.test,10", "--mx-host=a3.test,mx.a.test,10",
                    "--host-record=mx.a.test,127.0.0.5",
                    "--mx-host=b1.test,mx.b.test,10", "--host-record=mx.b.test,127.0.0.6",
                    "--mx-host=c1.test,mx.c.test,10", "--mx-host=c2.test,mx.c.test,10",
                    "--host-record=mx.c.test,127.0.0.7"));
            Runtime.getRuntime().addShutdownHook(new Thread(dnsmasq::close));
            siteA = new CountingPeer("127.0.0.5", mx);
            siteB = new CountingPeer("127.0.0.6", mx);
            siteC = new CountingPeer("127.0.0.7", mx);
            started = true;
        }
    }

    private List<String> submit(List<String> recipients) throws Exception {
        return submit("app@senders.test", recipients);
    }

    private static <T> T await(String what, int seconds, Callable<T> check) throws Exception {
        return Await.value(what, seconds, check);
    }

    @Test
    public void domainsOfOneSiteShareConnectionsFromBothSourcesWithinTheLimit() throws Exception {
        siteA.dataDelay(100); // slow enough that deliveries overlap and the connection limit is reached
        List<String> rcpts = new java.util.ArrayList<>();
        for (int i = 0; i < 60; i++) {
            rcpts.add("user" + i + "@a" + (i % 3 + 1) + ".test");
        }
        submit(rcpts);
        await("60 messages at site A", 60, () -> siteA.accepted() >= 60);

        List<CountingPeer.Connection> conns = siteA.connections();
        Map<String, Set<String>> ehloByClient = conns.stream().collect(Collectors.groupingBy(c -> c.client,
                Collectors.mapping(c -> c.ehlo, Collectors.toSet())));
        assertEquals("both sources sent, each with its own EHLO name",
                Map.of("127.0.0.1", Set.of("one.hermod.test"), "127.0.0.2", Set.of("two.hermod.test")), ehloByClient);
        assertEquals("connections=2 per path, reached and never exceeded: " + siteA.maxOpenByClient(),
                Map.of("127.0.0.1", 2, "127.0.0.2", 2), siteA.maxOpenByClient());
        assertTrue("connections are reused: " + conns.size() + " for 60 messages", conns.size() <= 20);
        assertTrue("a connection carried mail for several domains of the site",
                conns.stream().anyMatch(c -> c.domains() >= 2));
        String bySite = console("hermod:queue-list --by-site");
        assertTrue(bySite, bySite.contains("Queue is empty") || bySite.contains("mx.a.test"));
        assertEquals(Set.of("a1.test", "a2.test", "a3.test"), Set.copyOf(egress.domainsBySite().get("mx.a.test")));
        String show = console("hermod:shaping-show a2.test");
        assertTrue(show, show.contains("one->mx.a.test") && show.contains("two->mx.a.test")
                && show.contains("connections=2"));
    }

    @Test
    public void aThrottlingReplyHalvesThePathAndGoodRepliesBringItBackStepByStep() throws Exception {
        int[] seen = {0};
        siteB.answerRcpt(r -> seen[0]++ < 1
                ? "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume or user complaints"
                : "250 2.1.5 Ok");
        List<String> first = submit(List.of("x@b1.test"));
        String events = await("a decrease event", 30, () -> {
            String e = console("hermod:shaping-events --site b1.test");
            return e.contains("decrease") ? e : null;
        });
        assertTrue(events, events.contains("TSS04") && events.contains("connections=2") && events.contains("connections=1"));
        await("the deferred message is delivered on retry", 30, () -> queues.message(first.get(0)).isEmpty());
        List<String> more = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            more.add("y" + i + "@b1.test");
        }
        submit(more);
        await("all delivered", 60, () -> siteB.accepted() >= 9);
        String after = await("an increase event", 30, () -> {
            String e = console("hermod:shaping-events --site b1.test");
            return e.contains("increase") ? e : null;
        });
        assertTrue(after, after.indexOf("increase") < after.indexOf("decrease")); // newest first
        Path log = Paths.get(System.getProperty("karaf.data"), "hermod", "log", "shaping-events.jsonl");
        String json = await("the event log has both steps", 10, () -> {
            String s = Files.exists(log) ? Files.readString(log) : "";
            return s.contains("decrease") && s.contains("increase") ? s : null;
        });
        assertTrue(json, json.contains("TSS04"));
    }

    @Test
    public void aSuspendedSiteHoldsItsMailUntilResumed() throws Exception {
        submit(List.of("first@c1.test"));
        await("the first message at site C", 30, () -> siteC.accepted() >= 1);
        String suspended = console("hermod:shaping-suspend --for 1h --reason maintenance c1.test");
        assertTrue(suspended, suspended.contains("mx.c.test"));
        String id = submit(List.of("held@c2.test")).get(0);
        await("the message waits at the suspended site", 30, () -> egress.waitingByPoolAndSite().entrySet().stream()
                .anyMatch(e -> e.getKey().endsWith("mx.c.test") && e.getValue() > 0));
        assertEquals("nothing more reached site C", 1, siteC.accepted());
        assertTrue(queues.message(id).isPresent());
        String show = console("hermod:shaping-show c2.test");
        assertTrue(show, show.contains("SUSPENDED"));
        console("hermod:shaping-resume c1.test");
        await("delivered after resume", 30, () -> siteC.accepted() >= 2);
        await("left the queue", 10, () -> queues.message(id).isEmpty());
    }
}
