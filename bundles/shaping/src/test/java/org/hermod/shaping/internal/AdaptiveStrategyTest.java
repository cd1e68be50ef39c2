package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.Site;
import org.junit.Test;

public class AdaptiveStrategyTest {

    static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");
    static final Site YAHOO = new Site("mta5.am0.yahoodns.net,mta6.am0.yahoodns.net", "yahoo",
            List.of("mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net"));
    static final EgressPath PATH = new EgressPath("main", YAHOO.key());
    static final Limits CONFIGURED = new Limits(10, 20, 10, 1, 50);
    static final String TSS04 = "Messages from 192.0.2.10 temporarily deferred due to unexpected volume or user"
            + " complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes";

    static final String RULES = String.join("\n",
            "version v7",
            "provider yahoo mx=*.yahoodns.net",
            "on provider=yahoo reply=421 status=4.7.0 text=/\\[TSS04\\]/ -> decrease 0.5",   // 3
            "on provider=yahoo text=/\\[TS03\\]/ count=3 within=5m -> suspend 30m",        // 4
            "recovery step=10% deliveries=100 quiet=10m min=5%");

    static Feedback reply(Instant t, Feedback.Result result, int code, String status, String text) {
        return new Feedback(PATH, YAHOO, "yahoo.com", t, result, code, status, text, null);
    }

    static Feedback delivered(Instant t) {
        return reply(t, Feedback.Result.DELIVERED, 250, "2.0.0", "ok");
    }

    private final Rules rules = RulesParser.parse("hermod-shaping.rules", RULES);
    private final AdaptiveStrategy s = new AdaptiveStrategy(() -> rules);

    @Test
    public void yahooTss04DecreasesThePathAndSaysWhyInAnEvent() {
        String text = "[TSS04] " + TSS04;
        List<ShapingEvent> ev = s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", text), CONFIGURED);
        assertEquals(1, ev.size());
        ShapingEvent e = ev.get(0);
        assertEquals(PATH, e.path());
        assertEquals("adaptive", e.strategy());
        assertTrue(e.rule(), e.rule().startsWith("hermod-shaping.rules:3@v7 on provider=yahoo reply=421"));
        assertEquals("decrease x0.5", e.action());
        assertEquals(CONFIGURED, e.before());
        assertEquals(new Limits(5, 20, 5, 0.5, 50), e.after());
        assertEquals(List.of("421 4.7.0 " + text), e.replies());
        assertEquals(T0.plus(Duration.ofMinutes(10)), e.reconsiderAt());
        PathDecision d = s.decide(PATH, YAHOO, CONFIGURED, T0);
        assertEquals(e.after(), d.limits());
        assertNotNull(d.because());
        assertFalse(d.suspendedAt(T0));
    }

    @Test
    public void otherPathsAndGoodRepliesAreLeftAlone() {
        assertTrue(s.onFeedback(delivered(T0), CONFIGURED).isEmpty());
        assertTrue(s.onFeedback(reply(T0, Feedback.Result.FAILED, 550, "5.1.1", "no such user"), CONFIGURED)
                .isEmpty());
        assertEquals(PathDecision.of(CONFIGURED), s.decide(PATH, YAHOO, CONFIGURED, T0));
        assertTrue(s.exportState().isEmpty());
    }

    @Test
    public void recoveryIsAdditiveStepByStepUpToTheConfiguredLimitsAndNotBeyond() {
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] " + TSS04), CONFIGURED);
        // 0.5 -> 0.6 -> ... -> 1.0 by deliveries: five steps of 100 good deliveries each
        Instant t = T0;
        List<Double> rates = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            List<ShapingEvent> ev = List.of();
            for (int i = 0; i < 100; i++) {
                t = t.plusMillis(100);
                ev = s.onFeedback(delivered(t), CONFIGURED);
                if (i < 99) {
                    assertTrue("no change before the 100th delivery", ev.isEmpty());
                }
            }
            assertEquals(1, ev.size());
            assertTrue(ev.get(0).action(), ev.get(0).action().startsWith("increase +10%"));
            assertTrue(ev.get(0).rule(), ev.get(0).rule().contains("100 good deliveries"));
            rates.add(s.decide(PATH, YAHOO, CONFIGURED, t).limits().messagesPerSecond());
        }
        assertEquals(List.of(6.0, 7.0, 8.0, 9.0, 10.0), rounded(rates));
        assertEquals(CONFIGURED, s.decide(PATH, YAHOO, CONFIGURED, t).limits());
        for (int i = 0; i < 500; i++) {
            t = t.plusMillis(100);
            assertTrue("no step beyond the configured limits", s.onFeedback(delivered(t), CONFIGURED).isEmpty());
        }
        assertEquals(CONFIGURED, s.decide(PATH, YAHOO, CONFIGURED, t).limits());
        s.tick(t);
        assertTrue("a recovered path is forgotten", s.exportState().isEmpty());
    }

    @Test
    public void recoveryAlsoStepsAfterAQuietPeriodOnTheTick() {
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] " + TSS04), CONFIGURED);
        assertTrue(s.tick(T0.plus(Duration.ofMinutes(9))).isEmpty());
        List<ShapingEvent> ev = s.tick(T0.plus(Duration.ofMinutes(10)));
        assertEquals(1, ev.size());
        assertEquals(new Limits(6, 20, 6, 0.6, 50), ev.get(0).after());
        assertEquals(T0.plus(Duration.ofMinutes(20)), ev.get(0).reconsiderAt());
        assertTrue("the next step waits another quiet period", s.tick(T0.plus(Duration.ofMinutes(15))).isEmpty());
        assertEquals(1, s.tick(T0.plus(Duration.ofMinutes(20))).size());
    }

    @Test
    public void aRuleDoesNotCompoundWithinTheHoldOffButKeepsRecoveryBack() {
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] x"), CONFIGURED);
        assertTrue(s.onFeedback(reply(T0.plusSeconds(5), Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] y"),
                CONFIGURED).isEmpty());
        assertEquals(5, s.decide(PATH, YAHOO, CONFIGURED, T0).limits().maxConnections());
        assertTrue("the repeat counted as negative", s.tick(T0.plus(Duration.ofMinutes(10))).isEmpty());
        List<ShapingEvent> again = s.onFeedback(reply(T0.plusSeconds(61), Feedback.Result.DEFERRED, 421, "4.7.0",
                "[TSS04] z"), CONFIGURED);
        assertEquals(1, again.size());
        assertEquals(2, s.decide(PATH, YAHOO, CONFIGURED, T0).limits().maxConnections());
    }

    @Test
    public void aThresholdFiresOnTheNthReplyWithinTheWindowOnly() {
        String ts03 = "[TS03] All messages from 192.0.2.10 will be permanently deferred";
        assertTrue(s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", ts03), CONFIGURED).isEmpty());
        assertTrue(s.onFeedback(reply(T0.plus(Duration.ofMinutes(4)), Feedback.Result.DEFERRED, 421, "4.7.0", ts03),
                CONFIGURED).isEmpty());
        // the first one has left the 5-minute window: two in the window, no action
        assertTrue(s.onFeedback(reply(T0.plus(Duration.ofMinutes(6)), Feedback.Result.DEFERRED, 421, "4.7.0", ts03),
                CONFIGURED).isEmpty());
        Instant third = T0.plus(Duration.ofMinutes(7));
        List<ShapingEvent> ev = s.onFeedback(reply(third, Feedback.Result.DEFERRED, 421, "4.7.0", ts03), CONFIGURED);
        assertEquals(1, ev.size());
        assertEquals("suspend 30m", ev.get(0).action());
        assertEquals("the replies that triggered it, verbatim", 3, ev.get(0).replies().size());
        assertEquals(third.plus(Duration.ofMinutes(30)), ev.get(0).reconsiderAt());
        PathDecision d = s.decide(PATH, YAHOO, CONFIGURED, third.plusSeconds(1));
        assertTrue(d.suspendedAt(third.plusSeconds(1)));
        assertEquals("a suspension alone keeps the limits", CONFIGURED, d.limits());
        List<ShapingEvent> end = s.tick(third.plus(Duration.ofMinutes(30)));
        assertEquals("resume", end.get(0).action());
        assertFalse(s.decide(PATH, YAHOO, CONFIGURED, third.plus(Duration.ofMinutes(30)))
                .suspendedAt(third.plus(Duration.ofMinutes(30))));
    }

    @Test
    public void exportedStateIsTakenOverByAnotherInstance() {
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] x"), CONFIGURED);
        List<PathState> state = s.exportState();
        assertEquals(1, state.size());
        assertEquals(0.5, state.get(0).factor(), 1e-9);
        AdaptiveStrategy other = new AdaptiveStrategy(() -> rules);
        other.importState(state);
        assertEquals(new Limits(5, 20, 5, 0.5, 50), other.decide(PATH, YAHOO, CONFIGURED, T0).limits());
        // and it recovers from there, not from zero or from full speed
        List<ShapingEvent> ev = other.tick(T0.plus(Duration.ofMinutes(10)));
        assertEquals(new Limits(6, 20, 6, 0.6, 50), ev.get(0).after());
        assertNull(other.decide(PATH, YAHOO, CONFIGURED, T0).suspendedUntil());
    }

    private static List<Double> rounded(List<Double> in) {
        List<Double> out = new ArrayList<>();
        in.forEach(d -> out.add(Math.round(d * 1000) / 1000.0));
        return out;
    }

    /**
     * A path whose configured rate is unlimited: a decrease imposes the rate the path was seen to have (messages in the
     * last minute) times the factor, further decreases scale it again, and full recovery makes it unlimited again.
     */
    @Test
    public void aDecreaseOnAnUnlimitedPathImposesItsObservedRateTimesTheFactor() {
        Limits unlimited = new Limits(10, 20, 0, 0, 50);
        Instant t = T0;
        for (int i = 0; i < 600; i++) { // 20 a second for 30 s
            t = T0.plusMillis(50L * i);
            s.onFeedback(delivered(t), unlimited);
        }
        t = t.plusMillis(50);
        List<ShapingEvent> ev = s.onFeedback(reply(t, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] " + TSS04),
                unlimited);
        double rate = ev.get(0).after().messagesPerSecond();
        assertEquals("half the observed 20/s", 10.0, rate, 0.1);
        assertEquals(5, ev.get(0).after().maxConnections());
        assertEquals(rate, s.decide(PATH, YAHOO, unlimited, t).limits().messagesPerSecond(), 1e-9);
        PathState handed = s.exportState().get(0);
        FixedStrategy fixed = new FixedStrategy();
        fixed.importState(List.of(handed));
        PathDecision underFixed = fixed.decide(PATH, YAHOO, unlimited, t);
        assertEquals("the fixed strategy holds the same rate when handed the path", rate,
                underFixed.limits().messagesPerSecond(), 1e-9);
        t = t.plus(AdaptiveStrategy.HOLD_OFF).plusSeconds(1);
        s.onFeedback(reply(t, Feedback.Result.DEFERRED, 421, "4.7.0", "[TSS04] " + TSS04), unlimited);
        assertEquals("a second decrease scales the same base: a quarter", 5.0,
                s.decide(PATH, YAHOO, unlimited, t).limits().messagesPerSecond(), 0.1);
        for (int step = 0; step < 10; step++) { // quiet periods: +10 % each, up to full speed
            t = t.plus(Duration.ofMinutes(10)).plusSeconds(1);
            s.tick(t);
        }
        assertEquals("recovered: unlimited again", 0.0, s.decide(PATH, YAHOO, unlimited, t).limits().messagesPerSecond(),
                0);
    }

    @Test
    public void aRateMeterCountsTheLastMinute() {
        long t0 = Gcra.nanos(T0);
        RateMeter m = new RateMeter(t0);
        for (int i = 0; i < 120; i++) { // 1 a second for 2 minutes
            m.record(t0 + i * 1_000_000_000L);
        }
        assertEquals(1.0, m.perSecond(t0 + 120_000_000_000L), 0.05);
        assertEquals("a minute later nothing was counted in the window", 0.0, m.perSecond(t0 + 240_000_000_000L), 0);
        assertTrue(m.stale(t0 + 240_000_000_000L));
        RateMeter young = new RateMeter(t0);
        for (int i = 0; i < 10; i++) {
            young.record(t0 + i * 100_000_000L); // 10 in the first second
        }
        assertEquals("a young meter divides by its age (at least 1 s)", 10.0, young.perSecond(t0 + 500_000_000L), 0.01);
        RateMeter few = new RateMeter(t0);
        for (int i = 0; i < RateMeter.MIN_SAMPLE - 1; i++) {
            few.record(t0 + i);
        }
        assertEquals("too few outcomes are no rate", 0.0, few.perSecond(t0 + 500_000_000L), 0);
    }
}
