package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.Site;
import org.hermod.api.shaping.WarmupStatus;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** IP warmup through the shaping service, on a clock the test moves: a week of warmup runs in milliseconds. */
public class WarmupTest {

    static final Instant T0 = Instant.parse("2025-03-03T08:00:00Z");
    static final Site YAHOO = new Site("mta5.am0.yahoodns.net", "yahoo", List.of("mta5.am0.yahoodns.net"));
    static final Site OTHER = new Site("mx.example.org", null, List.of("mx.example.org"));
    static final String RULES = String.join("\n",
            "provider yahoo mx=*.yahoodns.net domains=yahoo.com",
            "on provider=yahoo reply=421 status=4.7.0 text=/\\[TSS04\\]/ -> decrease 0.5",
            "warmup source=new1 curve=quick",
            "curve-define quick 3,5,8");

    private Path dir;
    private MutableClock clock;
    private volatile Rules rules;
    private ShapingService shaping;

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("warmup-test");
        clock = new MutableClock(T0);
        rules = RulesParser.parse("hermod-shaping.rules", RULES);
        shaping = service();
    }

    private ShapingService service() {
        ShapingService s = new ShapingService(() -> rules, clock, new LocalThrottleStore(), TestConfigs.shaping(
                "sources", "warm=192.0.2.1/warm.example.com, new1=192.0.2.2/new1.example.com",
                "pools", "p: warm*1, new1*1", "defaultPool", "p",
                "eventLog", dir.resolve("events.jsonl").toString(),
                "warmupDatabase", dir.resolve("derby").toString(),
                "warmupStateFile", dir.resolve("shaping/warmup.state").toString()));
        s.addStrategy(new AdaptiveStrategy(() -> rules), AdaptiveStrategy.NAME, 0, 1);
        return s;
    }

    @After
    public void tearDown() throws Exception {
        shaping.deactivate();
        org.apache.derby.jdbc.EmbeddedDataSource ds = new org.apache.derby.jdbc.EmbeddedDataSource();
        ds.setDatabaseName(dir.resolve("derby").toString());
        ds.setShutdownDatabase("shutdown");
        try {
            ds.getConnection().close();
        } catch (java.sql.SQLException expected) { // 08006: shut down
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Chooses a source for {@code n} messages to the site now; how many went to each source. */
    /**
     * Sends n messages as delivery's dispatcher does: it asks for a source, then for that path's message token, and
     * asks again (another source of the pool) when the token is refused.
     */
    private Map<String, Integer> send(Site site, int n) {
        String domain = site == YAHOO ? "yahoo.com" : "example.org";
        Map<String, Integer> out = new HashMap<>();
        for (int i = 0; i < n; i++) {
            boolean sent = false;
            for (int tries = 0; tries < 4 && !sent; tries++) {
                EgressSource s = shaping.choose("p", site, domain, clock.instant()).orElseThrow();
                if (shaping.acquireMessage(new EgressPath(s.name(), site.key()), site, domain, clock.instant())
                        .isZero()) {
                    out.merge(s.name(), 1, Integer::sum);
                    sent = true;
                }
            }
            if (!sent) {
                throw new AssertionError("no source of the pool took message " + i);
            }
        }
        return out;
    }

    private WarmupStatus status(String target) {
        return shaping.warmup("new1").stream().filter(w -> w.target().equals(target)).findFirst().orElseThrow();
    }

    private void nextDay() {
        clock.advance(Duration.ofDays(1));
    }

    @Test
    public void aWeekOfWarmupFollowsTheCurveAndOverflowsToTheWarmSource() {
        int[] expected = {3, 5, 8};
        for (int day = 1; day <= 3; day++) {
            Map<String, Integer> sent = send(YAHOO, 40);
            assertEquals("day " + day + ": new1 sends exactly its cap", expected[day - 1], (int) sent.get("new1"));
            assertEquals("the rest overflows to the warm source", 40 - expected[day - 1], (int) sent.get("warm"));
            WarmupStatus w = status("yahoo");
            assertEquals(day, w.day());
            assertEquals(expected[day - 1], w.dailyCap());
            assertEquals(expected[day - 1], w.sentToday());
            assertTrue(w.capReached());
            nextDay();
        }
        // day 4: past the curve: warm, the pool's weights alone decide (1:1)
        Map<String, Integer> sent = send(YAHOO, 40);
        assertEquals(20, (int) sent.get("new1"));
        WarmupStatus w = status("yahoo");
        assertTrue(w.warm());
        assertEquals(4, w.day());
        for (int day = 5; day <= 7; day++) {
            nextDay();
            assertEquals(20, (int) send(YAHOO, 40).get("new1"));
        }
        List<ShapingEvent> events = shaping.events(null, "new1", 100);
        assertTrue(events.stream().anyMatch(e -> e.action().equals("warmup day 1 -> 2: cap 5/day")));
        assertTrue(events.stream().anyMatch(e -> e.action().startsWith("warmup cap reached: 3/3 today (day 1)")));
        assertTrue(events.stream().anyMatch(e -> e.action().equals("warmup day 3 -> 4: warm, no cap")));
    }

    @Test
    public void aDecreaseOnTheSourcesPathHoldsBackTheNextDay() {
        send(YAHOO, 10); // day 1: 3
        nextDay();
        send(YAHOO, 10); // day 2: 5
        clock.advance(Duration.ofHours(2));
        shaping.feedback(new Feedback(new EgressPath("new1", YAHOO.key()), YAHOO, "yahoo.com", clock.instant(),
                Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] Messages from 192.0.2.2 temporarily deferred", null));
        WarmupStatus held = status("yahoo");
        assertNotNull("the console says why the next step is held", held.heldBack());
        assertTrue(held.heldBack(), held.heldBack().contains("decrease x0.5"));
        clock.advance(Duration.ofHours(18));
        for (int i = 0; i < 10; i++) { // the path recovers meanwhile (its decrease also imposed a rate)
            clock.advance(Duration.ofMinutes(11));
            shaping.tick();
        } // the next UTC day, under 20 h after the signal
        assertEquals("day 2's cap again, not day 3's", 5, (int) send(YAHOO, 40).get("new1"));
        assertEquals(2, status("yahoo").day());
        assertTrue(shaping.events(null, "new1", 100).stream().anyMatch(e -> e.action().startsWith("warmup held at day 2")));
        nextDay(); // the signal is more than 24 h old: the plan moves on
        assertEquals(8, (int) send(YAHOO, 40).get("new1"));
        assertEquals(3, status("yahoo").day());
        assertNull(status("yahoo").heldBack());
    }

    @Test
    public void eachProviderAndEachSiteWithoutProviderHasItsOwnCount() {
        assertEquals(3, (int) send(YAHOO, 10).get("new1"));
        assertEquals("another site is not charged with yahoo's count", 3, (int) send(OTHER, 10).get("new1"));
        assertEquals(3, status("site:mx.example.org").sentToday());
        assertEquals(3, status("yahoo").sentToday());
        assertEquals("the warm source has no plan", List.of(), shaping.warmup("warm"));
    }

    @Test
    public void anIdleDayDoesNotCount() {
        send(YAHOO, 10);
        nextDay();
        nextDay();
        nextDay(); // three days later: one step, not three
        assertEquals(5, (int) send(YAHOO, 10).get("new1"));
        assertEquals(2, status("yahoo").day());
    }

    @Test
    public void dayAndCountsSurviveARestart() throws Exception {
        nextDay();
        send(YAHOO, 10);
        nextDay();
        assertEquals(5, (int) send(YAHOO, 10).get("new1"));
        shaping.tick(); // flushes what changed
        shaping.deactivate();
        shaping = service();
        WarmupStatus w = status("yahoo");
        assertEquals(2, w.day());
        assertEquals(5, w.sentToday());
        assertEquals("today's cap stays used up after the restart", null, send(YAHOO, 10).get("new1"));
        nextDay();
        assertEquals(8, (int) send(YAHOO, 20).get("new1"));
        shaping.deactivate(); // flushes at deactivation too
        Warmup.Entry row = new DerbyWarmupStore(dir.resolve("derby").toString()).load()
                .get(new Warmup.Key("new1", "yahoo"));
        assertEquals("the database holds day 3", 3, row.day);
        assertEquals(8, row.sentToday);
        assertEquals(java.time.LocalDate.of(2025, 3, 6), row.date);
        shaping = service();
    }

    @Test
    public void aCrashLosesAtMostTheCountsSinceTheLastFlush() throws Exception {
        assertEquals(3, (int) send(YAHOO, 10).get("new1"));
        shaping.tick(); // day 1's 3 are flushed
        nextDay();
        assertEquals(2, (int) send(YAHOO, 4).get("new1")); // day 2: 2 of 5 (1:1 with warm), not flushed yet
        // the process dies now: a second service reads the database while the first is never deactivated
        ShapingService afterCrash = service();
        WarmupStatus w = afterCrash.warmup("new1").stream().filter(x -> x.target().equals("yahoo")).findFirst()
                .orElseThrow();
        assertEquals("day 1 was flushed, so day 2 follows", 2, w.day());
        assertEquals("the 2 unflushed counts of day 2 are lost", 0, w.sentToday());
        int sent = 0;
        for (int i = 0; i < 10; i++) {
            EgressPath p = new EgressPath("new1", YAHOO.key());
            if (afterCrash.acquireMessage(p, YAHOO, "yahoo.com", clock.instant()).isZero()) {
                sent++;
            }
        }
        assertEquals("day 2's full cap again: the cap is exceeded by what the lost interval sent", 5, sent);
    }

    @Test
    public void aStateFileOfTheEarlierVersionIsImportedOnce() throws Exception {
        shaping.deactivate();
        Path legacy = dir.resolve("shaping/warmup.state");
        Files.createDirectories(legacy.getParent());
        Files.writeString(legacy, "# hermod warmup state v1: source target day date sentToday deliveredToday hour"
                + " sentThisHour lastNegative negativeWhy held capEventSent\n"
                + "new1\tyahoo\t3\t2025-03-03\t6\t4\t" + T0.getEpochSecond() / 3600 + "\t6\t\t\t\tfalse\n");
        shaping = service();
        WarmupStatus w = status("yahoo");
        assertEquals("day 3 from the file", 3, w.day());
        assertEquals(6, w.sentToday());
        assertEquals("2 left of day 3's cap of 8", 2, (int) send(YAHOO, 10).get("new1"));
        assertFalse("the file is renamed once imported", Files.exists(legacy));
        assertTrue(Files.exists(dir.resolve("shaping/warmup.state.migrated")));
        shaping.deactivate();
        shaping = service();
        assertEquals("the database's count, not the file's, after a restart", 8, status("yahoo").sentToday());
    }

    @Test
    public void anHourlyCapSpreadsTheDay() {
        rules = RulesParser.parse("hermod-shaping.rules", RULES + "\nwarmup source=new1 provider=yahoo curve=100 hourly=10%");
        assertEquals(10, (int) send(YAHOO, 50).get("new1"));
        assertEquals(10, status("yahoo").hourlyCap());
        clock.advance(Duration.ofHours(1));
        assertEquals(10, (int) send(YAHOO, 50).get("new1"));
        assertEquals(20, status("yahoo").sentToday());
    }

    @Test
    public void theShippedRulesFileParsesCleanlyAndItsExampleLinesWork() throws Exception {
        Path shipped = Path.of("../../etc/hermod-shaping.rules"); // the module's directory is the working directory
        String text = Files.readString(shipped);
        assertEquals(List.of(), RulesParser.parse("hermod-shaping.rules", text).errors());
        StringBuilder examples = new StringBuilder(text);
        for (String line : text.split("\n")) {
            if (line.startsWith("# warmup ") || line.startsWith("# curve-define ")) {
                examples.append('\n').append(line.substring(2));
            }
        }
        Rules r = RulesParser.parse("hermod-shaping.rules", examples.toString());
        assertEquals(r.errors().toString(), List.of(), r.errors());
        assertEquals(50, r.warmupFor("new1", "yahoo").capOn(1));
        assertEquals(5, r.warmupFor("new1", "gmail").hourlyCapOn(1));
    }

    @Test
    public void curvesParseAndBadLinesAreReported() {
        Rules r = RulesParser.parse("f", String.join("\n",
                "warmup source=a",
                "warmup source=b provider=gmail curve=10,20",
                "warmup source=c curve=nosuch",
                "warmup provider=gmail",
                "curve-define bad 10,0"));
        assertEquals(WarmupPlan.CONSERVATIVE, r.warmupFor("a", "gmail").caps());
        assertEquals(50, r.warmupFor("a", null).capOn(1));
        assertEquals(List.of(10L, 20L), r.warmupFor("b", "gmail").caps());
        assertNull("b's plan is for gmail only", r.warmupFor("b", "yahoo"));
        assertNull(r.warmupFor("c", "gmail"));
        assertEquals(r.errors().toString(), 3, r.errors().size());
        assertFalse(r.warmupFor("b", "gmail").origin().toString().isEmpty());
    }
}
