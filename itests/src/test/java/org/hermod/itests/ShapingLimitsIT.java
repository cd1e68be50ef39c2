package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.Site;
import org.hermod.api.shaping.WarmupStatus;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.Configuration;

/**
 * Shaping limits as an operator sees them at the receiving side and in the console, over real sockets: a message rate
 * honoured over every window, configuration and rules edits applied live while a path stays throttled (and the rate
 * counters survive), and a new source's warmup cap with the overflow going to the warm source of its pool.
 *
 * <p>Sources: warm = 127.0.0.1 (warm.hermod.test), new = 127.0.0.2 (new.hermod.test). Pools: solo (warm only, the
 * default pool, so a per-path rate is the site's rate) and both (warm and new, for senders at warmup.test). Sites, one
 * per scenario: mx.r.test (127.0.0.21) serves rate.test; mx.l.test (127.0.0.22) live.test; mx.o.test (127.0.0.23)
 * other.test; mx.w.test (127.0.0.24) w1.test.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShapingLimitsIT extends ShapingTestSupport {


    static final double RATE = 10.0; // messages per second on the rate.test path
    static final int RATE_MESSAGES = 60;

    static final List<String> RULES = List.of(
            "version limits-it-1",
            "limits connections=10 messagesPerConnection=100 recipients=100",
            "limits domain=rate.test rate=10/s",
            "limits domain=live.test connections=4 rate=20/s",
            "limits domain=counter.test rate=1/m",
            "on reply=421 text=/TSS04/ -> decrease 0.5",
            "# no recovery within the test: a throttled path must stay throttled through the edits, not be re-earned",
            "recovery step=10% deliveries=100000 quiet=1d floor=1/m min=5%",
            "warmup source=new curve=5,10");

    static final Site LIVE = new Site("mx.l.test", null, List.of("mx.l.test"));
    static final Site OTHER = new Site("mx.o.test", null, List.of("mx.o.test"));
    static final Site COUNTER = new Site("mx.counter.test", null, List.of("mx.counter.test"));

    static boolean started;
    static CountingPeer rateSite;
    static CountingPeer liveSite;
    static CountingPeer otherSite;
    static CountingPeer warmupSite;

    @Inject
    Shaping shaping;


    @org.ops4j.pax.exam.Configuration
    public Option[] config() throws Exception {
        String s = "etc/org.hermod.shaping.cfg";
        File report = new File("target/shaping-limits-it.txt");
        Files.deleteIfExists(report.toPath()); // this run's numbers only
        return shapingOptions(RULES,
                editConfigurationFilePut(s, "sources", "warm=127.0.0.1/warm.hermod.test, new=127.0.0.2/new.hermod.test"),
                editConfigurationFilePut(s, "pools", "solo: warm; both: warm*1, new*1"),
                editConfigurationFilePut(s, "defaultPool", "solo"),
                editConfigurationFilePut(s, "senderPools", "warmup.test=both"),
                editConfigurationFilePut("etc/system.properties", "hermod.it.report", report.getAbsolutePath()));
    }


    @Before
    public void startPeers() throws Exception {
        synchronized (ShapingLimitsIT.class) {
            if (started) {
                return;
            }
            int mx = prop("org.hermod.delivery", "smtpPort");
            Dnsmasq dnsmasq = new Dnsmasq(prop("org.hermod.delivery", "dnsServers"), List.of(
                    "--mx-host=rate.test,mx.r.test,10", "--host-record=mx.r.test,127.0.0.21",
                    "--mx-host=live.test,mx.l.test,10", "--host-record=mx.l.test,127.0.0.22",
                    "--mx-host=other.test,mx.o.test,10", "--host-record=mx.o.test,127.0.0.23",
                    "--mx-host=w1.test,mx.w.test,10", "--host-record=mx.w.test,127.0.0.24"));
            Runtime.getRuntime().addShutdownHook(new Thread(dnsmasq::close));
            rateSite = new CountingPeer("127.0.0.21", mx);
            liveSite = new CountingPeer("127.0.0.22", mx);
            otherSite = new CountingPeer("127.0.0.23", mx);
            warmupSite = new CountingPeer("127.0.0.24", mx);
            started = true;
        }
    }

    /** Submits one message per recipient over one SMTP session from {@code app@senderDomain}. */
    private void submitFrom(String senderDomain, List<String> recipients) throws Exception {
        submit("app@" + senderDomain, recipients);
    }

    private static List<String> recipients(String prefix, String domain, int n) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            r.add(prefix + i + "@" + domain);
        }
        return r;
    }

    /** Appends a line to the report file the build keeps (target/shaping-limits-it.txt), for the numbers measured. */
    private static void report(String line) {
        try {
            Files.writeString(Paths.get(System.getProperty("hermod.it.report", "shaping-limits-it.txt")), line + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (java.io.IOException e) {
            System.out.println(line);
        }
    }

    // ---- 1. message rate --------------------------------------------------------------------------------------

    /**
     * rate=10/s on the path (one source in the pool, so also the site's rate): 60 messages injected at once arrive
     * no faster than 10 per second over any window (tolerance: at most 10 x window + 2 messages in any window of 1, 2,
     * 3 or 5 s, for the connection start-up and the peer's clock), take at least 5 s from first to last (ideal 5.9 s),
     * and not absurdly long: all within 3 x the ideal time from the submission.
     */
    @Test
    public void aMessageRateIsHonouredOverEveryWindow() throws Exception {
        long t0 = System.nanoTime();
        submitFrom("rate.test", recipients("r", "rate.test", RATE_MESSAGES));
        Await.until(RATE_MESSAGES + " messages at mx.r.test", 60, () -> rateSite.accepted() >= RATE_MESSAGES);
        List<Long> times = rateSite.arrivals().stream().map(CountingPeer.Arrival::nanos).sorted()
                .collect(Collectors.toList());
        assertEquals(RATE_MESSAGES, times.size());
        assertEquals("only the pool's one source sent", Map.of("127.0.0.1", (long) RATE_MESSAGES), rateSite.arrivals()
                .stream().collect(Collectors.groupingBy(CountingPeer.Arrival::client, Collectors.counting())));

        double ideal = (RATE_MESSAGES - 1) / RATE;
        double span = (times.get(times.size() - 1) - times.get(0)) / 1e9;
        double total = (times.get(times.size() - 1) - t0) / 1e9;
        StringBuilder windows = new StringBuilder();
        for (int w : new int[] {1, 2, 3, 5}) {
            int max = maxInWindow(times, TimeUnit.SECONDS.toNanos(w));
            windows.append(" ").append(w).append("s:").append(max);
            assertTrue("at most " + (int) (RATE * w + 2) + " messages in any " + w + " s window, saw " + max,
                    max <= RATE * w + 2);
        }
        String measured = String.format(java.util.Locale.ROOT,
                "rate=10/s, %d messages: first->last %.2f s (ideal %.1f s, mean %.2f/s), submission->last %.2f s,"
                        + " most in a window:%s", RATE_MESSAGES, span, ideal, (RATE_MESSAGES - 1) / span, total,
                windows);
        report(measured);
        assertTrue("no faster than the rate over the whole batch: " + measured, span >= ideal - 0.9);
        assertTrue("not absurdly slow (3 x the ideal time): " + measured, total <= 3 * (ideal + 0.1));
    }

    /** The most arrivals within any half-open window [t, t + width) that starts at an arrival. */
    private static int maxInWindow(List<Long> sorted, long width) {
        int max = 0;
        int j = 0;
        for (int i = 0; i < sorted.size(); i++) {
            while (j < sorted.size() && sorted.get(j) - sorted.get(i) < width) {
                j++;
            }
            max = Math.max(max, j - i);
        }
        return max;
    }

    // ---- 2. live configuration edits --------------------------------------------------------------------------

    private Limits inForce(Site site, String domain) {
        return shaping.decide(new EgressPath("warm", site.key()), site, domain, Instant.now()).limits();
    }

    /**
     * A path halved by a [TSS04] reply stays halved through a Config Admin edit of org.hermod.shaping (tickMillis,
     * pools, senderPools) and an edit of the rules file (a new limits line for another domain, a new version), with no
     * restart; the new line is in force and named by explain and shaping-show, the new pool mapping applies, and the
     * rate counter of a slow path keeps what was spent before the edits.
     */
    @Test
    public void configurationAndRulesEditsApplyLiveAndKeepTheThrottleAndTheCounters() throws Exception {
        // a path throttled by the adaptive strategy
        java.util.concurrent.atomic.AtomicBoolean throttled = new java.util.concurrent.atomic.AtomicBoolean();
        liveSite.answerRcpt(r -> r.startsWith("first@") && throttled.compareAndSet(false, true)
                ? "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume or user complaints"
                : "250 2.1.5 Ok");
        submitFrom("live.test", List.of("first@live.test"));
        Await.until("the TSS04 reply halves mx.l.test", 30, () -> inForce(LIVE, "live.test").maxConnections() == 2);
        assertEquals(10.0, inForce(LIVE, "live.test").messagesPerSecond(), 1e-9);
        Await.until("the deferred message is delivered on retry", 30, () -> liveSite.accepted() >= 1);
        // another site, known to delivery, under the default line
        submitFrom("other.test", List.of("o0@other.test"));
        Await.until("a message at mx.o.test", 30, () -> otherSite.accepted() >= 1);
        assertEquals(10, shaping.explain(new EgressPath("warm", OTHER.key()), OTHER, "other.test").limits()
                .maxConnections());
        // a slow path's counter: its one token of the minute is spent now
        EgressPath counterPath = new EgressPath("warm", COUNTER.key());
        assertEquals(Duration.ZERO, shaping.acquireMessage(counterPath, COUNTER, "counter.test", Instant.now()));

        // 1. Config Admin: org.hermod.shaping edited
        Configuration c = configAdmin.getConfiguration("org.hermod.shaping", null);
        Dictionary<String, Object> p = c.getProperties();
        p.put("tickMillis", "700");
        p.put("pools", "solo: warm; both: warm*1, new*1; bulk: warm*1");
        p.put("senderPools", "warmup.test=both, bulk.test=bulk");
        c.update(p);
        Await.until("the new pool mapping applies", 30, () -> "bulk".equals(shaping.poolFor("bulk.test")));
        // 2. the rules file edited: a new version, a new limits line for other.test
        Path rulesFile = Paths.get(System.getProperty("karaf.etc"), "hermod-shaping.rules");
        List<String> edited = new ArrayList<>(RULES);
        edited.set(0, "version limits-it-2");
        edited.add("limits domain=other.test connections=7");
        Path tmp = rulesFile.resolveSibling("hermod-shaping.rules.tmp");
        Files.writeString(tmp, String.join("\n", edited) + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, rulesFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Shaping.Explanation other = Await.value("the edited rules reloaded", 30, () -> {
            Shaping.Explanation e = shaping.explain(new EgressPath("warm", OTHER.key()), OTHER, "other.test");
            return e.limits().maxConnections() == 7 ? e : null;
        });
        assertTrue(other.origins().toString(),
                other.origins().get("maxConnections").contains("hermod-shaping.rules:10 domain=other.test"));

        // the throttled path is still throttled, by the same decrease, with no new event
        assertEquals("connections still halved", 2, inForce(LIVE, "live.test").maxConnections());
        assertEquals("rate still halved", 10.0, inForce(LIVE, "live.test").messagesPerSecond(), 1e-9);
        PathState st = shaping.state().stream().filter(s -> s.path().site().equals(LIVE.key())).findFirst()
                .orElseThrow(() -> new AssertionError("no state for mx.l.test: " + shaping.state()));
        assertEquals(0.5, st.factor(), 1e-9);
        assertEquals("one decrease, none from the edits", 1, shaping.events(LIVE.key(), null, 100).stream()
                .filter(e -> e.action() != null && e.action().startsWith("decrease")).count());
        // the counter kept its spent token: the next one is still most of a minute away
        Duration wait = shaping.acquireMessage(counterPath, COUNTER, "counter.test", Instant.now());
        assertTrue("the rate counter survived the edits: next token in " + wait, wait.getSeconds() >= 30);

        String live = console("hermod:shaping-show live.test");
        assertTrue(live, live.contains("in force:   connections=2") && live.contains("rate=10.00/s")
                && live.contains("factor 0.50") && live.contains("TSS04"));
        String show = console("hermod:shaping-show other.test");
        assertTrue(show, show.contains("configured: connections=7")
                && show.contains("maxConnections <- hermod-shaping.rules:10 domain=other.test"));
        // and delivery still works on the throttled path after the edits
        submitFrom("live.test", List.of("after@live.test"));
        Await.until("a message delivered on the throttled path after the edits", 30, () -> liveSite.accepted() >= 2);
        report("live edits: mx.l.test in force " + inForce(LIVE, "live.test") + " (factor " + st.factor()
                + "); other.test configured " + other.limits() + " from " + other.origins().get("maxConnections")
                + "; counter.test next token in " + wait.getSeconds() + " s");
    }

    // ---- 3. warmup ----------------------------------------------------------------------------------------------

    /**
     * {@code warmup source=new curve=5,10}: of 30 messages from a sender whose pool holds warm and new, exactly 5 leave
     * from new (127.0.0.2) today, the other 25 overflow to warm (127.0.0.1); warmup-show shows 5/5 and the cap.
     */
    @Test
    public void aNewSourceStopsAtItsWarmupCapAndTheWarmSourceTakesTheRest() throws Exception {
        submitFrom("warmup.test", recipients("w", "w1.test", 30));
        Await.until("30 messages at mx.w.test", 60, () -> warmupSite.accepted() >= 30);
        Map<String, Long> byClient = warmupSite.arrivals().stream().collect(Collectors.groupingBy(
                CountingPeer.Arrival::client, Collectors.summingLong(a -> a.recipients().size())));
        Map<String, String> ehloByClient = warmupSite.connections().stream().collect(Collectors.toMap(
                x -> x.client, x -> String.valueOf(x.ehlo), (a, b) -> a.equals(b) ? a : a + "|" + b));
        report("warmup: messages by client " + byClient + ", EHLO " + ehloByClient);
        assertEquals("5 from new (its day-1 cap), the rest overflowed to warm",
                Map.of("127.0.0.2", 5L, "127.0.0.1", 25L), byClient);
        assertEquals(Map.of("127.0.0.2", "new.hermod.test", "127.0.0.1", "warm.hermod.test"), ehloByClient);
        List<WarmupStatus> w = shaping.warmup("new");
        assertEquals(w.toString(), 1, w.size());
        assertEquals("site:mx.w.test", w.get(0).target());
        assertEquals(1, w.get(0).day());
        assertEquals(5, w.get(0).dailyCap());
        assertEquals(5, w.get(0).sentToday());
        assertTrue(w.toString(), w.get(0).capReached());
        String show = console("hermod:warmup-show new");
        report("warmup-show new:\n" + show.stripTrailing());
        assertTrue(show, show.contains("site:mx.w.test") && show.contains("5/5") && show.contains("cap reached")
                && show.contains("warmup source=new"));
        assertEquals("nothing more arrived", 30, warmupSite.accepted());
    }
}
