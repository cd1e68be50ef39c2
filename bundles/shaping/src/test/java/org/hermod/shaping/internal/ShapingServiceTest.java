package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.Site;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class ShapingServiceTest {

    static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");
    static final Site YAHOO = new Site("mta5.am0.yahoodns.net", "yahoo", List.of("mta5.am0.yahoodns.net"));
    static final Site OTHER = new Site("mx.example.org", null, List.of("mx.example.org"));
    static final String RULES = String.join("\n",
            "version r1",
            "provider yahoo mx=*.yahoodns.net domains=yahoo.com",
            "limits connections=10 rate=10/s connectionRate=2/s",
            "limits provider=yahoo connections=4 messagesPerConnection=20",
            "site-limits provider=yahoo rate=15/s",
            "source-limits source=b rate=1/s",
            "on provider=yahoo reply=421 status=4.7.0 text=/\\[TSS04\\]/ -> decrease 0.5",
            "on provider=yahoo text=/\\[TS03\\]/ -> suspend 30m");

    private Path dir;
    private Path eventLog;
    private MutableClock clock;
    private volatile Rules rules;
    private ShapingService shaping;
    private AdaptiveStrategy adaptive;

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("shaping-test");
        eventLog = dir.resolve("shaping-events.jsonl");
        clock = new MutableClock(T0);
        rules = RulesParser.parse("hermod-shaping.rules", RULES);
        shaping = new ShapingService(() -> rules, clock, new LocalThrottleStore(), config(""));
        adaptive = new AdaptiveStrategy(() -> rules);
        shaping.addStrategy(adaptive, AdaptiveStrategy.NAME, 0, 1);
    }

    @After
    public void tearDown() throws Exception {
        shaping.deactivate();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private ShapingConfig config(String assignments) {
        return TestConfigs.shaping("sources", "a=192.0.2.1/a.example.com, b=192.0.2.2/b.example.com, c=/c.example.com",
                "pools", "transactional: a*3, b*1; marketing: b, c", "defaultPool", "transactional",
                "senderPools", "news.example.com=marketing", "strategyAssignments", assignments,
                "eventLog", eventLog.toString());
    }

    private static Feedback tss04(EgressPath p, Instant t) {
        return new Feedback(p, YAHOO, "yahoo.com", t, Feedback.Result.DEFERRED, 421, "4.7.0",
                "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints",
                null);
    }

    @Test
    public void sourcesPoolsAndSenderMapping() {
        assertEquals(List.of("a", "b", "c"), shaping.sources().stream().map(EgressSource::name).toList());
        assertEquals("192.0.2.1", shaping.sources().get(0).address());
        assertEquals("a.example.com", shaping.sources().get(0).ehloName());
        assertEquals(null, shaping.sources().get(2).address());
        assertEquals("marketing", shaping.poolFor("news.example.com"));
        assertEquals("marketing", shaping.poolFor("eu.news.example.com"));
        assertEquals("transactional", shaping.poolFor("example.com"));
        assertEquals("yahoo", shaping.providerOf(List.of("mta7.am0.yahoodns.net"), "ymail.com"));
    }

    @Test
    public void weightedChoiceRespectsWeightsAndSkipsSuspendedSources() {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            String s = shaping.choose("transactional", OTHER, "example.org", T0).orElseThrow().name();
            counts.merge(s, 1, Integer::sum);
        }
        assertEquals(Map.of("a", 300, "b", 100), counts);
        shaping.suspend("a", Duration.ofHours(1), "test");
        for (int i = 0; i < 10; i++) {
            assertEquals("b", shaping.choose("transactional", OTHER, "example.org", T0).orElseThrow().name());
        }
        shaping.suspend("b->" + OTHER.key(), Duration.ofHours(1), "test");
        assertEquals("every member held: the message waits", Optional.empty(),
                shaping.choose("transactional", OTHER, "example.org", T0));
        assertEquals("another site is not held by the path suspension", "b",
                shaping.choose("transactional", YAHOO, "yahoo.com", T0).orElseThrow().name());
        assertTrue(shaping.resume("a").isPresent());
        assertEquals("a", shaping.choose("transactional", OTHER, "example.org", T0).orElseThrow().name());
    }

    @Test
    public void aStrategySuspensionTakesTheSourceOutOfTheChoiceForThatSiteOnly() {
        EgressPath a = new EgressPath("a", YAHOO.key());
        shaping.feedback(new Feedback(a, YAHOO, "yahoo.com", T0, Feedback.Result.DEFERRED, 421, "4.7.0",
                "[TS03] All messages from 192.0.2.1 will be permanently deferred", null));
        for (int i = 0; i < 5; i++) {
            assertEquals("b", shaping.choose("transactional", YAHOO, "yahoo.com", T0).orElseThrow().name());
        }
        assertEquals("suspended for 30 minutes", Duration.ofMinutes(30),
                shaping.acquireMessage(a, YAHOO, "yahoo.com", T0));
        assertTrue(shaping.resume("a->" + YAHOO.key()).isPresent());
        assertFalse(shaping.decide(a, YAHOO, "yahoo.com", T0).suspendedAt(T0));
    }

    @Test
    public void decideAppliesPrecedenceThenTheStrategyAndFeedbackBecomesAnEvent() throws Exception {
        EgressPath a = new EgressPath("a", YAHOO.key());
        assertEquals(new Limits(4, 20, 10, 2, 100), shaping.decide(a, YAHOO, "yahoo.com", T0).limits());
        shaping.feedback(tss04(a, T0));
        PathDecision d = shaping.decide(a, YAHOO, "yahoo.com", T0);
        assertEquals(new Limits(2, 20, 5, 1, 100), d.limits());
        List<ShapingEvent> events = shaping.events(YAHOO.key(), "a", 10);
        assertEquals(1, events.size());
        assertEquals("decrease x0.5", events.get(0).action());
        assertTrue(shaping.events(OTHER.key(), null, 10).isEmpty());
        shaping.syncLog();
        String log = Files.readString(eventLog);
        assertTrue(log, log.contains("\"action\":\"decrease x0.5\"") && log.contains("[TSS04]")
                && log.contains("hermod-shaping.rules:7@r1"));
    }

    @Test
    public void explainNamesTheRuleLineOfEachLimitAndTheStrategy() {
        Shaping.Explanation e = shaping.explain(new EgressPath("a", YAHOO.key()), YAHOO, "yahoo.com");
        assertEquals(new Limits(4, 20, 10, 2, 100), e.limits());
        assertEquals("hermod-shaping.rules:4 provider=yahoo", e.origins().get("maxConnections"));
        assertEquals("hermod-shaping.rules:3 default", e.origins().get("messagesPerSecond"));
        assertEquals("default", e.origins().get("maxRecipientsPerTransaction"));
        assertEquals("adaptive", e.strategy());
    }

    @Test
    public void messagesAreLimitedPerPathPerSiteAndPerSource() {
        EgressPath a = new EgressPath("a", OTHER.key());
        assertEquals(Duration.ZERO, shaping.acquireMessage(a, OTHER, "example.org", T0));
        assertEquals("10/s on the path", Duration.ofMillis(100), shaping.acquireMessage(a, OTHER, "example.org", T0));
        EgressPath b = new EgressPath("b", OTHER.key());
        assertEquals(Duration.ZERO, shaping.acquireMessage(b, OTHER, "example.org", T0));
        assertEquals("source b: 1/s overall", Duration.ofMillis(900),
                shaping.acquireMessage(b, OTHER, "example.org", T0.plusMillis(100)));
        // yahoo: 10/s per path, 15/s across sources
        EgressPath ya = new EgressPath("a", YAHOO.key());
        EgressPath yc = new EgressPath("c", YAHOO.key());
        int taken = 0;
        Instant t = T0;
        Instant end = T0.plusSeconds(10);
        while (t.isBefore(end)) {
            Duration wa = shaping.acquireMessage(ya, YAHOO, "yahoo.com", t);
            Duration wc = shaping.acquireMessage(yc, YAHOO, "yahoo.com", t);
            taken += (wa.isZero() ? 1 : 0) + (wc.isZero() ? 1 : 0);
            Duration next = wa.isZero() || wc.isZero() ? Duration.ZERO : wa.compareTo(wc) < 0 ? wa : wc;
            t = t.plus(next.isZero() ? Duration.ofMillis(1) : next);
        }
        assertTrue("site total 15/s over 10 s: " + taken, taken >= 150 && taken <= 151);
        assertEquals("connections: 2/s on the path", Duration.ZERO,
                shaping.acquireConnection(a, OTHER, "example.org", T0));
        assertEquals(Duration.ofMillis(500), shaping.acquireConnection(a, OTHER, "example.org", T0));
    }

    @Test
    public void aLiveConfigurationChangeKeepsCountersAndAdaptiveState() {
        EgressPath a = new EgressPath("a", YAHOO.key());
        shaping.feedback(tss04(a, T0));
        assertEquals(Duration.ZERO, shaping.acquireMessage(a, YAHOO, "yahoo.com", T0));
        shaping.modified(TestConfigs.shaping("sources", "a=192.0.2.1/a.example.com, b=/b, c=/c, d=/d",
                "pools", "transactional: a*1, d*1", "eventLog", eventLog.toString()));
        assertEquals("the token taken before the change still counts", Duration.ofMillis(200),
                shaping.acquireMessage(a, YAHOO, "yahoo.com", T0));
        assertEquals("still throttled", 2, shaping.decide(a, YAHOO, "yahoo.com", T0).limits().maxConnections());
        assertEquals(4, shaping.sources().size());
        // and a rules edit (a new snapshot) keeps them too
        rules = RulesParser.parse("hermod-shaping.rules", RULES + "\nlimits provider=yahoo connections=8");
        assertEquals(4, shaping.decide(a, YAHOO, "yahoo.com", T0).limits().maxConnections());
        assertEquals(Duration.ofMillis(200), shaping.acquireMessage(a, YAHOO, "yahoo.com", T0));
    }

    @Test
    public void stateIsHandedOverWhenAStrategyComesIsAssignedAndGoes() {
        EgressPath a = new EgressPath("a", YAHOO.key());
        shaping.feedback(tss04(a, T0));
        FixedStrategy fixed = new FixedStrategy();
        shaping.addStrategy(fixed, FixedStrategy.NAME, 0, 2);
        assertTrue("not assigned yet: nothing moves", fixed.exportState().isEmpty());

        shaping.modified(configWith("provider:yahoo=fixed"));
        assertEquals(1, fixed.exportState().size());
        assertEquals(0.5, fixed.exportState().get(0).factor(), 1e-9);
        assertTrue("the old strategy forgot it", adaptive.exportState().stream().allMatch(s -> s.factor() >= 1.0));
        assertEquals("fixed", shaping.explain(a, YAHOO, "yahoo.com").strategy());
        assertEquals("limits continue from the handed-over state", 2,
                shaping.decide(a, YAHOO, "yahoo.com", T0).limits().maxConnections());
        shaping.feedback(tss04(a, T0.plusSeconds(120)));
        assertEquals("fixed ignores replies", 2, shaping.decide(a, YAHOO, "yahoo.com", T0).limits().maxConnections());

        shaping.removeStrategy(fixed);
        assertEquals("adaptive (assigned 'fixed' is not installed)", shaping.explain(a, YAHOO, "yahoo.com").strategy());
        List<PathState> back = adaptive.exportState();
        assertEquals(1, back.size());
        assertEquals(0.5, back.get(0).factor(), 1e-9);
        assertEquals(2, shaping.decide(a, YAHOO, "yahoo.com", T0).limits().maxConnections());
    }

    @Test
    public void aHigherRankedStrategyOfTheSameNameTakesOverWithTheState() {
        EgressPath a = new EgressPath("a", YAHOO.key());
        shaping.feedback(tss04(a, T0));
        AdaptiveStrategy newer = new AdaptiveStrategy(() -> rules);
        shaping.addStrategy(newer, AdaptiveStrategy.NAME, 10, 3);
        assertEquals(0.5, newer.exportState().get(0).factor(), 1e-9);
        assertEquals(2, shaping.decide(a, YAHOO, "yahoo.com", T0).limits().maxConnections());
    }

    @Test
    public void aFailingStrategyNeverReachesTheCaller() {
        shaping.addStrategy(new ThrowingStrategy(), "broken", 0, 4);
        shaping.modified(configWith("default=broken"));
        EgressPath a = new EgressPath("a", OTHER.key());
        assertEquals(new Limits(10, 100, 10, 2, 100), shaping.decide(a, OTHER, "example.org", T0).limits());
        shaping.feedback(new Feedback(a, OTHER, "example.org", T0, Feedback.Result.DELIVERED, 250, null, "ok", null));
        shaping.tick();
        assertEquals(Duration.ZERO, shaping.acquireMessage(a, OTHER, "example.org", T0));
    }

    @Test
    public void operatorSuspensionsAreEventsAndEndOnTheTick() {
        ShapingEvent e = shaping.suspend(YAHOO.key(), Duration.ofMinutes(5), "maintenance");
        assertEquals(new EgressPath("*", YAHOO.key()), e.path());
        assertEquals("suspend 5m", e.action());
        EgressPath b = new EgressPath("b", YAHOO.key());
        assertTrue(shaping.decide(b, YAHOO, "yahoo.com", T0).suspendedAt(T0));
        assertTrue(shaping.state().stream().anyMatch(s -> s.path().source().equals("*")));
        clock.advance(Duration.ofMinutes(5));
        shaping.tick();
        assertEquals("resume", shaping.events(null, null, 1).get(0).action());
        assertFalse(shaping.decide(b, YAHOO, "yahoo.com", clock.instant()).suspendedAt(clock.instant()));
        assertEquals(Optional.empty(), shaping.resume(YAHOO.key()));
    }

    private ShapingConfig configWith(String assignments) {
        return config(assignments);
    }

    /** Decisions are cached per path; every change that can alter one is seen by the very next call. */
    @Test
    public void aCachedDecisionNeverOutlivesAChange() {
        EgressPath a = new EgressPath("a", YAHOO.key());
        Instant t = T0;
        PathDecision first = shaping.decide(a, YAHOO, "yahoo.com", t);
        assertEquals(4, first.limits().maxConnections());
        assertTrue("the same decision object while nothing changed",
                first == shaping.decide(a, YAHOO, "yahoo.com", t.plusMillis(10)));
        shaping.feedback(tss04(a, t)); // a decrease: an event
        assertEquals("the decrease applies at once", 2,
                shaping.decide(a, YAHOO, "yahoo.com", t.plusMillis(20)).limits().maxConnections());
        shaping.suspend("a", Duration.ofMinutes(5), "test");
        assertTrue(shaping.decide(a, YAHOO, "yahoo.com", t.plusMillis(30)).suspendedAt(t.plusMillis(30)));
        assertTrue(shaping.acquireMessage(a, YAHOO, "yahoo.com", t.plusMillis(30)).compareTo(Duration.ofMinutes(4)) > 0);
        shaping.resume("a");
        assertFalse("the resume applies at once",
                shaping.decide(a, YAHOO, "yahoo.com", t.plusMillis(40)).suspendedAt(t.plusMillis(40)));
        shaping.suspend("a", Duration.ofSeconds(30), "short");
        Instant after = t.plusSeconds(31);
        assertFalse("a hold's end needs no event", shaping.decide(a, YAHOO, "yahoo.com", after).suspendedAt(after));
        rules = RulesParser.parse("hermod-shaping.rules", RULES.replace("connections=4", "connections=6"));
        assertEquals("a rules reload applies at once (x0.5 of the new 6)", 3,
                shaping.decide(a, YAHOO, "yahoo.com", after.plusMillis(1)).limits().maxConnections());
    }
}
