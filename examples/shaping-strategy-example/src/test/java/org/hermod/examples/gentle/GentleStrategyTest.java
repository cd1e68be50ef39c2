package org.hermod.examples.gentle;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Site;
import org.junit.Test;

public class GentleStrategyTest {

    static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");
    static final Site SITE = new Site("mx.example.net", null, List.of("mx.example.net"));
    static final EgressPath PATH = new EgressPath("a", SITE.key());
    static final Limits CONFIGURED = new Limits(8, 50, 20, 2, 100);

    private static Feedback reply(Instant t, Feedback.Result r, int code, String status) {
        return new Feedback(PATH, SITE, "example.net", t, r, code, status, "try again later", null);
    }

    @Test
    public void throttlingRepliesSlowThePathDownOnceAMinuteNeverBelowTheFloor() {
        GentleStrategy s = new GentleStrategy(0.75, 0.5);
        assertEquals(1, s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0"), CONFIGURED).size());
        assertEquals(6, s.decide(PATH, SITE, CONFIGURED, T0).limits().maxConnections());
        assertEquals(15.0, s.decide(PATH, SITE, CONFIGURED, T0).limits().messagesPerSecond(), 1e-9);
        assertEquals("within the minute: no second decrease", 0,
                s.onFeedback(reply(T0.plusSeconds(30), Feedback.Result.DEFERRED, 451, "4.7.1"), CONFIGURED).size());
        for (int i = 1; i <= 5; i++) {
            s.onFeedback(reply(T0.plus(Duration.ofMinutes(i)), Feedback.Result.DEFERRED, 451, "4.7.1"), CONFIGURED);
        }
        assertEquals("never below half", 10.0, s.decide(PATH, SITE, CONFIGURED, T0).limits().messagesPerSecond(), 1e-9);
    }

    @Test
    public void otherRepliesAndTimeChangeNothing() {
        GentleStrategy s = new GentleStrategy();
        assertTrue(s.onFeedback(reply(T0, Feedback.Result.DELIVERED, 250, "2.0.0"), CONFIGURED).isEmpty());
        assertTrue(s.onFeedback(reply(T0, Feedback.Result.FAILED, 550, "5.1.1"), CONFIGURED).isEmpty());
        assertTrue(s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 450, "4.2.0"), CONFIGURED).isEmpty());
        assertEquals(CONFIGURED, s.decide(PATH, SITE, CONFIGURED, T0).limits());
        s.onFeedback(reply(T0, Feedback.Result.DEFERRED, 421, "4.7.0"), CONFIGURED);
        s.tick(T0.plus(Duration.ofDays(1)));
        assertEquals("decrease only: no recovery", 6, s.decide(PATH, SITE, CONFIGURED, T0).limits().maxConnections());
    }

    @Test
    public void aHandedOverThrottleIsKeptEvenBelowTheFloorAndHandedOnUnchanged() {
        GentleStrategy s = new GentleStrategy();
        s.importState(List.of(new PathState(PATH, 0.25, null, "adaptive: decrease x0.5", Map.of())));
        assertEquals(2, s.decide(PATH, SITE, CONFIGURED, T0).limits().maxConnections());
        assertEquals(0.25, s.exportState().get(0).factor(), 1e-9);
    }
}
