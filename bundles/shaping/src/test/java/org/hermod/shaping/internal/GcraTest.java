package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.Test;

public class GcraTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    @Test
    public void aRateIsHonouredOverAWindowWhenCallersWakeExactlyWhenTold() {
        Gcra g = new Gcra();
        double rate = 10; // per second
        Instant now = T0;
        int taken = 0;
        Instant end = T0.plusSeconds(60);
        while (now.isBefore(end)) {
            Duration w = g.tryTake(rate, now);
            if (w.isZero()) {
                taken++;
            } else {
                now = now.plus(w); // the caller sleeps exactly as long as it is told
            }
        }
        assertEquals("10/s over 60 s", 600, taken);
    }

    @Test
    public void theWaitIsExactlyTheTimeUntilTheNextTokenAndTakesNothing() {
        Gcra g = new Gcra();
        assertEquals(Duration.ZERO, g.tryTake(4, T0)); // 250 ms interval
        Duration w = g.tryTake(4, T0.plusMillis(100));
        assertEquals(Duration.ofMillis(150), w);
        // asking again, still too early: the same due time (nothing was taken by the refusal)
        assertEquals(Duration.ofMillis(50), g.tryTake(4, T0.plusMillis(200)));
        assertEquals(Duration.ZERO, g.tryTake(4, T0.plusMillis(250)));
        assertEquals(Duration.ofMillis(250), g.tryTake(4, T0.plusMillis(250)));
    }

    @Test
    public void aBurstAllowsThatManyBackToBackThenSpacesThem() {
        Gcra g = new Gcra(3);
        for (int i = 0; i < 3; i++) {
            assertEquals("token " + i, Duration.ZERO, g.tryTake(1, T0));
        }
        assertEquals(Duration.ofSeconds(1), g.tryTake(1, T0));
        assertEquals(Duration.ZERO, g.tryTake(1, T0.plusSeconds(1)));
    }

    @Test
    public void idleTimeDoesNotBankMoreThanTheBurst() {
        Gcra g = new Gcra();
        g.tryTake(1, T0);
        Instant later = T0.plusSeconds(3600);
        assertEquals(Duration.ZERO, g.tryTake(1, later));
        assertEquals(Duration.ofSeconds(1), g.tryTake(1, later));
    }

    @Test
    public void unlimitedAlwaysPassesAndARateChangeAppliesToTheNextToken() {
        Gcra g = new Gcra();
        for (int i = 0; i < 1000; i++) {
            assertEquals(Duration.ZERO, g.tryTake(0, T0));
        }
        assertEquals(Duration.ZERO, g.tryTake(1, T0)); // next due at T0+1s
        assertEquals(Duration.ofSeconds(1), g.tryTake(0.5, T0)); // a lower rate: still due at T0+1s
        assertEquals(Duration.ZERO, g.tryTake(100, T0)); // raised to 100/s: the old wait is forgiven
        assertEquals(Duration.ofMillis(10), g.tryTake(100, T0)); // now 10 ms apart
        assertEquals(Duration.ZERO, g.tryTake(100, T0.plusMillis(10)));
    }

    @Test
    public void theStoreTakesAllOrNothing() {
        LocalThrottleStore s = new LocalThrottleStore();
        List<ThrottleStore.Take> both = List.of(new ThrottleStore.Take("path:a->s", 10, 1),
                new ThrottleStore.Take("site:s", 1, 1));
        assertEquals(Duration.ZERO, s.tryTakeAll(both, T0));
        Duration w = s.tryTakeAll(both, T0.plusMillis(100));
        assertEquals("the site's token is due last", Duration.ofMillis(900), w);
        // the path's own cell was not spent by the refusal: alone it is free now
        assertEquals(Duration.ZERO, s.tryTakeAll(List.of(new ThrottleStore.Take("path:a->s", 10, 1)),
                T0.plusMillis(100)));
        assertTrue(s.size() >= 2);
    }

    @Test
    public void aRaisedRateAppliesToTheNextTokenNotAfterTheOldIntervalRunsOut() {
        Gcra g = new Gcra();
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals(Duration.ZERO, g.tryTake(1.0 / 3600, t0)); // 1/h: the next token is an hour away
        assertTrue(g.waitFor(1.0 / 3600, t0.plusSeconds(1)).compareTo(Duration.ofMinutes(59)) > 0);
        Duration atNewRate = g.waitFor(100, t0.plusSeconds(1));
        assertTrue("at 100/s the next token is at most 10 ms away: " + atNewRate,
                atNewRate.compareTo(Duration.ofMillis(10)) <= 0);
        assertEquals(Duration.ZERO, g.tryTake(100, t0.plusSeconds(1)));
        assertEquals(Duration.ofMillis(10), g.tryTake(100, t0.plusSeconds(1)));
    }
}
