package org.hermod.api.shaping;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * What every {@link ShapingStrategy} must do, whatever its policy: answer every call (never throw, never return null,
 * whatever the replies look like), stay consistent when feedback, decisions, ticks and exports run on many threads at
 * once, and take over handed-over state: an imported suspension holds, and an export after an import gives back the
 * same suspensions and factors (so a swap to the strategy and back loses nothing). Whether a strategy stays within
 * the configured limits is its own business (an adaptive one does), not part of this contract. Extend it and
 * implement {@link #strategy()}.
 */
public abstract class ShapingStrategyContract {

    /** A new strategy under test, without state. */
    protected abstract ShapingStrategy strategy() throws Exception;

    protected static final Site SITE = new Site("mx1.contract.test,mx2.contract.test", "contract",
            List.of("mx1.contract.test", "mx2.contract.test"));
    protected static final EgressPath PATH = new EgressPath("src1", SITE.key());
    protected static final Limits CONFIGURED = new Limits(8, 50, 20, 2, 100);

    static List<Feedback> hostileFeedback(Instant t) {
        List<Feedback> out = new ArrayList<>();
        for (Feedback.Result r : Feedback.Result.values()) {
            out.add(new Feedback(PATH, SITE, null, t, r, 0, null, null, null));
            out.add(new Feedback(PATH, SITE, "", t, r, 0, "", "", ""));
        }
        out.add(new Feedback(PATH, SITE, "contract.test", t, Feedback.Result.DEFERRED, 421, "4.7.0",
                "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints",
                "policy-related"));
        out.add(new Feedback(PATH, SITE, "contract.test", t, Feedback.Result.DEFERRED, 999, "9.9.9.9", "nonsense",
                "no-such-category"));
        out.add(new Feedback(PATH, SITE, "contract.test", t, Feedback.Result.FAILED, -1, "5.",
                "\u0000\r\n\t\u00ff", null));
        out.add(new Feedback(PATH, SITE, "contract.test", t, Feedback.Result.FAILED, 550, "5.7.1",
                "x".repeat(1 << 20), "spam-related"));
        out.add(new Feedback(PATH, SITE, "contract.test", t, Feedback.Result.DEFERRED, 451, "4.7.500",
                "(((((((((((((((((((((((((((((a*)*)*)*)*)*)*)*)*)*) \u202e\uD83D\uDCA3".repeat(100), null));
        out.add(new Feedback(new EgressPath("", ""), new Site("", null, null), null, t, Feedback.Result.DEFERRED,
                421, "4.7.0", "try again later", null));
        return out;
    }

    @Test
    public void everyCallIsAnsweredWhateverTheReplies() throws Exception {
        ShapingStrategy s = strategy();
        Instant t = Instant.now();
        for (int round = 0; round < 5; round++) {
            for (Feedback f : hostileFeedback(t.plusSeconds(round * 61L))) {
                assertNotNull("onFeedback returned null for " + f.result() + " " + f.code(),
                        s.onFeedback(f, CONFIGURED));
            }
            assertNotNull(s.tick(t.plusSeconds(round * 61L)));
        }
        for (Limits l : List.of(CONFIGURED, new Limits(0, 1, 0, 0, 1), Limits.DEFAULT)) {
            PathDecision d = s.decide(PATH, SITE, l, t);
            assertNotNull("no decision", d);
            assertNotNull(d.limits());
        }
        assertNotNull(s.decide(new EgressPath("never", "seen"), new Site("seen", null, List.of()), CONFIGURED, t));
        assertNotNull(s.tick(t.plus(Duration.ofDays(30))));
        assertNotNull(s.exportState());
        s.importState(List.of());
    }

    @Test
    public void concurrentFeedbackDecisionsTicksAndExportsNeverFail() throws Exception {
        ShapingStrategy s = strategy();
        Instant t0 = Instant.now();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int th = 0; th < 8; th++) {
                int id = th;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        Instant t = t0.plusMillis(i * 10L);
                        EgressPath p = new EgressPath("src" + (i % 3), SITE.key());
                        Feedback f = new Feedback(p, SITE, "contract.test", t,
                                i % 4 == 0 ? Feedback.Result.DEFERRED : Feedback.Result.DELIVERED,
                                i % 4 == 0 ? 421 : 250, i % 4 == 0 ? "4.7.0" : "2.0.0",
                                i % 4 == 0 ? "[TSS04] temporarily deferred" : "ok", null);
                        switch ((i + id) % 4) {
                            case 0 -> assertNotNull(s.onFeedback(f, CONFIGURED));
                            case 1 -> assertNotNull(s.decide(p, SITE, CONFIGURED, t).limits());
                            case 2 -> assertNotNull(s.tick(t));
                            default -> assertNotNull(s.exportState());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS); // rethrows what a thread threw
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void anImportedSuspensionHoldsAndAnExportGivesBackSuspensionsAndFactors() throws Exception {
        ShapingStrategy s = strategy();
        Instant now = Instant.now();
        Instant until = now.plus(Duration.ofHours(1));
        EgressPath other = new EgressPath("src2", SITE.key());
        s.importState(List.of(new PathState(PATH, 1.0, until, "handed over: suspended", Map.of()),
                new PathState(other, 0.5, null, "handed over: throttled", Map.of())));
        PathDecision d = s.decide(PATH, SITE, CONFIGURED, now);
        assertTrue("an imported suspension holds", d.suspendedAt(now));
        assertEquals(until, d.suspendedUntil());

        ShapingStrategy next = strategy();
        next.importState(s.exportState());
        PathState p = find(next.exportState(), PATH);
        PathState o = find(next.exportState(), other);
        assertEquals("the suspension survives export and import", until, p.suspendedUntil());
        assertEquals("the factor survives export and import", 0.5, o.factor(), 1e-9);
        assertTrue(next.decide(PATH, SITE, CONFIGURED, now).suspendedAt(now));
    }

    private static PathState find(List<PathState> states, EgressPath p) {
        for (PathState s : states) {
            if (s.path().equals(p)) {
                return s;
            }
        }
        throw new AssertionError("no state for " + p + " in " + states);
    }
}
