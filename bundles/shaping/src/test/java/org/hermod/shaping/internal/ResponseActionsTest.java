package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.Site;
import org.junit.Test;

/** Response rules' {@code move POOL [for D]} and {@code bounce [for D]} (issue 8). */
public class ResponseActionsTest {

    static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");
    static final Site YAHOO = AdaptiveStrategyTest.YAHOO;
    static final EgressPath PATH = AdaptiveStrategyTest.PATH;
    static final Limits CONFIGURED = AdaptiveStrategyTest.CONFIGURED;

    static final String RULES = String.join("\n",
            "version v9",
            "provider yahoo mx=*.yahoodns.net",
            "on provider=yahoo text=/\\[TSS04\\]/ -> move bulk",                            // 3
            "on provider=yahoo reply=550 status=5.7.1 text=/blocked/ -> bounce for 2h",      // 4
            "on provider=yahoo text=/\\[TS03\\]/ -> suspend 30m move transactional for 45m", // 5
            "on provider=yahoo text=/nopool/ -> move nowhere");                              // 6

    private final Rules rules = RulesParser.parse("hermod-shaping.rules", RULES);
    private final AdaptiveStrategy s = new AdaptiveStrategy(() -> rules);

    static Feedback reply(Instant t, Feedback.Result result, int code, String status, String text) {
        return new Feedback(PATH, YAHOO, "yahoo.com", t, result, code, status, text, null);
    }

    @Test
    public void theActionsParse() {
        assertTrue(rules.errors().toString(), rules.errors().isEmpty());
        ResponseRule move = rules.responses().get(0);
        assertEquals("bulk", move.moveTo());
        assertEquals(Duration.ofHours(1), move.moveFor());
        assertNull(move.bounceFor());
        assertEquals("move bulk for 1h", move.action());
        ResponseRule bounce = rules.responses().get(1);
        assertEquals(Duration.ofHours(2), bounce.bounceFor());
        assertEquals("bounce for 2h", bounce.action());
        ResponseRule both = rules.responses().get(2);
        assertEquals(Duration.ofMinutes(30), both.suspend());
        assertEquals("transactional", both.moveTo());
        assertEquals("suspend 30m, move transactional for 45m", both.action());
        assertEquals(Duration.ofHours(1),
                RulesParser.parse("t", "on text=/x/ -> bounce").responses().get(0).bounceFor());
    }

    @Test
    public void badActionsAreErrorsWithTheirLine() {
        Rules r = RulesParser.parse("t.rules", String.join("\n",
                "on text=/a/ -> move",
                "on text=/b/ -> move for 1h",
                "on text=/c/ -> move bulk for",
                "on text=/d/ -> bounce for 0s",
                "on text=/e/ -> move bulk bounce",
                "on text=/f/ -> bounce bounce",
                "on text=/g/ -> divert bulk",
                "on text=/h/ -> bounce for 1h move bulk",
                "on text=/i/ -> move bulk for 10m"));
        assertEquals(r.errors().toString(), 8, r.errors().size());
        for (int i = 0; i < 8; i++) {
            assertTrue(r.errors().get(i), r.errors().get(i).startsWith("t.rules:" + (i + 1) + ": "));
        }
        assertEquals(1, r.responses().size());
        assertEquals(Duration.ofMinutes(10), r.responses().get(0).moveFor());
    }

    @Test
    public void moveDivertsThePathUntilItsDurationPassesThenNot() {
        List<ShapingEvent> ev = s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0",
                "[TSS04] Messages from 192.0.2.10 temporarily deferred"), CONFIGURED);
        assertEquals(1, ev.size());
        ShapingEvent e = ev.get(0);
        assertEquals("move bulk for 1h", e.action());
        assertTrue(e.rule(), e.rule().startsWith("hermod-shaping.rules:3@v9 on provider=yahoo"));
        assertEquals(List.of("421 4.7.0 [TSS04] Messages from 192.0.2.10 temporarily deferred"), e.replies());
        assertEquals(T0.plus(Duration.ofHours(1)), e.reconsiderAt());

        PathDecision d = s.decide(PATH, YAHOO, CONFIGURED, T0.plus(Duration.ofMinutes(59)));
        assertEquals("bulk", d.divertToPool());
        assertNull(d.bounceReason());
        assertEquals("a move alone keeps the limits", CONFIGURED, d.limits());
        assertFalse(d.suspendedAt(T0));
        assertNull(s.decide(new EgressPath("other", YAHOO.key()), YAHOO, CONFIGURED, T0).divertToPool());

        Instant end = T0.plus(Duration.ofHours(1));
        assertNull("over at its end even before the tick", s.decide(PATH, YAHOO, CONFIGURED, end).divertToPool());
        List<ShapingEvent> over = s.tick(end);
        assertEquals(1, over.size());
        assertEquals("end move bulk", over.get(0).action());
        assertEquals(PathDecision.of(CONFIGURED), s.decide(PATH, YAHOO, CONFIGURED, end));
        assertTrue("nothing left to remember", s.exportState().isEmpty());
    }

    @Test
    public void bounceGivesAReasonNamingTheRuleAndTheReplyUntilItsDurationPasses() {
        List<ShapingEvent> ev = s.onFeedback(reply(T0, Feedback.Result.FAILED, 550, "5.7.1",
                "Mail from 192.0.2.10 blocked"), CONFIGURED);
        assertEquals(1, ev.size());
        assertEquals("bounce for 2h", ev.get(0).action());
        assertEquals(T0.plus(Duration.ofHours(2)), ev.get(0).reconsiderAt());
        PathDecision d = s.decide(PATH, YAHOO, CONFIGURED, T0.plus(Duration.ofMinutes(119)));
        assertEquals("stopped by shaping rule hermod-shaping.rules:4: 550 5.7.1 Mail from 192.0.2.10 blocked",
                d.bounceReason());
        assertNull(d.divertToPool());
        Instant end = T0.plus(Duration.ofHours(2));
        assertEquals("end bounce", s.tick(end).get(0).action());
        assertNull(s.decide(PATH, YAHOO, CONFIGURED, end).bounceReason());
    }

    @Test
    public void suspendAndMoveOnOneLineBothApplyAndEndEachAtItsTime() {
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TS03] deferred"), CONFIGURED);
        PathDecision d = s.decide(PATH, YAHOO, CONFIGURED, T0.plusSeconds(1));
        assertTrue(d.suspendedAt(T0.plusSeconds(1)));
        assertEquals("transactional", d.divertToPool());
        assertEquals("resume", s.tick(T0.plus(Duration.ofMinutes(30))).get(0).action());
        d = s.decide(PATH, YAHOO, CONFIGURED, T0.plus(Duration.ofMinutes(31)));
        assertFalse(d.suspendedAt(T0.plus(Duration.ofMinutes(31))));
        assertEquals("transactional", d.divertToPool());
        assertEquals("end move transactional", s.tick(T0.plus(Duration.ofMinutes(45))).get(0).action());
        assertNull(s.decide(PATH, YAHOO, CONFIGURED, T0.plus(Duration.ofMinutes(45))).divertToPool());
    }

    @Test
    public void moveAndBounceSurviveExportAndImportIntoAdaptiveAndFixed() {
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] x"), CONFIGURED);
        EgressPath other = new EgressPath("other", YAHOO.key());
        s.onFeedback(new Feedback(other, YAHOO, "yahoo.com", T0, Feedback.Result.FAILED, 550, "5.7.1", "blocked",
                null), CONFIGURED);
        List<PathState> state = s.exportState();
        assertEquals(2, state.size());

        Instant later = T0.plus(Duration.ofMinutes(30));
        AdaptiveStrategy next = new AdaptiveStrategy(() -> rules);
        next.importState(state);
        assertEquals("bulk", next.decide(PATH, YAHOO, CONFIGURED, later).divertToPool());
        assertTrue(next.decide(other, YAHOO, CONFIGURED, later).bounceReason().startsWith(
                "stopped by shaping rule hermod-shaping.rules:4: 550 5.7.1 blocked"));

        FixedStrategy fixed = new FixedStrategy();
        fixed.importState(next.exportState());
        assertEquals("bulk", fixed.decide(PATH, YAHOO, CONFIGURED, later).divertToPool());
        assertTrue(fixed.decide(other, YAHOO, CONFIGURED, later).bounceReason().contains("rules:4"));
        assertEquals(CONFIGURED, fixed.decide(PATH, YAHOO, CONFIGURED, later).limits());

        AdaptiveStrategy back = new AdaptiveStrategy(() -> rules);
        back.importState(fixed.exportState());
        assertEquals("bulk", back.decide(PATH, YAHOO, CONFIGURED, later).divertToPool());
        assertTrue(back.decide(other, YAHOO, CONFIGURED, later).bounceReason().contains("rules:4"));

        List<ShapingEvent> over = fixed.tick(T0.plus(Duration.ofHours(2)));
        assertEquals(2, over.size());
        assertTrue(fixed.exportState().isEmpty());
        assertNull(fixed.decide(PATH, YAHOO, CONFIGURED, T0.plus(Duration.ofHours(2))).divertToPool());
    }

    @Test
    public void theServicePassesMoveAndBounceThroughOperatorHoldsAndIgnoresUnknownPools() throws Exception {
        Path dir = Files.createTempDirectory("shaping-actions");
        MutableClock clock = new MutableClock(T0);
        ShapingService shaping = new ShapingService(() -> rules, clock, new LocalThrottleStore(),
                TestConfigs.shaping("sources", "main=192.0.2.1/a.example.com, b=192.0.2.2/b.example.com",
                        "pools", "transactional: main; bulk: b", "defaultPool", "transactional",
                        "eventLog", dir.resolve("events.jsonl").toString()));
        try {
            shaping.addStrategy(s, AdaptiveStrategy.NAME, 0, 1);
            shaping.feedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] x"));
            assertEquals("move bulk for 1h", shaping.events(null, null, 1).get(0).action());
            assertEquals("bulk", shaping.decide(PATH, YAHOO, "yahoo.com", T0).divertToPool());
            shaping.suspend(PATH.toString(), Duration.ofMinutes(5), "maintenance");
            PathDecision held = shaping.decide(PATH, YAHOO, "yahoo.com", T0);
            assertTrue(held.suspendedAt(T0));
            assertEquals("an operator hold keeps the move", "bulk", held.divertToPool());

            EgressPath p2 = new EgressPath("b", YAHOO.key());
            shaping.feedback(new Feedback(p2, YAHOO, "yahoo.com", T0, Feedback.Result.DEFERRED, 421, "4.7.0",
                    "nopool", null));
            assertEquals("move nowhere for 1h", shaping.events(null, null, 1).get(0).action());
            assertNull("a pool the configuration lacks: not moved",
                    shaping.decide(p2, YAHOO, "yahoo.com", T0).divertToPool());

            clock.advance(Duration.ofHours(1));
            shaping.tick();
            assertNull(shaping.decide(PATH, YAHOO, "yahoo.com", clock.instant()).divertToPool());
            assertTrue(shaping.events(null, null, 10).stream().anyMatch(e -> e.action().equals("end move bulk")));
        } finally {
            shaping.deactivate();
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
