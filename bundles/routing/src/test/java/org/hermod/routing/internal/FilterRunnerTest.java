package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.junit.After;
import org.junit.Test;

/** The bulkheads: per filter name across versions, a reserve for the router, waiting for a slot within the budget. */
public class FilterRunnerTest {

    private final FilterRunner runner = new FilterRunner(1, 8); // others may hold 6 threads, one filter 4
    private final CountDownLatch release = new CountDownLatch(1);
    private final FilterStats stats = new FilterStats();

    @After
    public void stop() {
        release.countDown();
        runner.close();
    }

    private static FilterEntry entry(long id, String name, CallLimit limit, boolean router, long budget) {
        return FilterEntry.of(Map.of("service.id", id, FilterProperties.NAME, name,
                FilterProperties.TIMEOUT_MILLIS, budget), 1, "b", "1." + id, 1000, limit, router, new FilterStats());
    }

    /** A filter stuck for good: it ignores interruption, as a broken filter does. */
    private FilterRunner.Call stuck() {
        return () -> {
            while (true) {
                try {
                    release.await();
                    return FilterDecision.proceed();
                } catch (InterruptedException ignored) {
                    // a broken filter swallows it
                }
            }
        };
    }

    private static FilterDecision get(CompletableFuture<FilterDecision> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    @Test
    public void versionsOfAStuckFilterShareOneLimitAndTheRouterKeepsItsThreads() throws Exception {
        CallLimit evil = new CallLimit(FilterRunner.perFilterLimit(64, 8));
        List<CompletableFuture<FilterDecision>> calls = new ArrayList<>();
        for (int version = 1; version <= 5; version++) { // a bundle updated and rolled back again and again
            FilterEntry e = entry(version, "evil", evil, false, 100);
            calls.add(runner.call(e, stuck()));
            calls.add(runner.call(e, stuck()));
        }
        for (CompletableFuture<FilterDecision> c : calls) {
            assertEquals(FilterDecision.Action.DEFER, get(c).action());
        }
        assertEquals("stuck calls of all versions of one filter hold half the pool", 4, evil.inFlight());
        // a second stuck filter takes what other filters may have, not the reserve
        CallLimit evil2 = new CallLimit(FilterRunner.perFilterLimit(64, 8));
        for (int i = 0; i < 4; i++) {
            get(runner.call(entry(20 + i, "evil2", evil2, false, 100), stuck()));
        }
        assertEquals(2, evil2.inFlight());
        long t0 = System.nanoTime();
        FilterDecision third = get(runner.call(entry(30, "innocent", new CallLimit(4), false, 1000),
                () -> FilterDecision.accept()));
        assertEquals("other filters together are at their 6 threads: fails at once", FilterDecision.Action.DEFER,
                third.action());
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 500);
        FilterDecision routed = get(runner.call(entry(40, RuleRouter.NAME, new CallLimit(64), true, 1000),
                () -> FilterDecision.accept()));
        assertEquals("the router still gets a thread", FilterDecision.Action.ACCEPT, routed.action());
    }

    @Test
    public void aBurstOnASlowFilterWaitsForSlotsInsteadOfFailing() throws Exception {
        CallLimit slow = new CallLimit(2);
        FilterEntry e = entry(1, "slow", slow, false, 3000);
        List<CompletableFuture<FilterDecision>> calls = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            calls.add(runner.call(e, () -> {
                Thread.sleep(50);
                return FilterDecision.accept();
            }));
        }
        for (CompletableFuture<FilterDecision> c : calls) {
            assertEquals("each call waits for one of the 2 slots within its budget", FilterDecision.Action.ACCEPT,
                    get(c).action());
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (slow.inFlight() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5); // a slot is given back just after the decision is out
        }
        assertEquals("every slot given back", 0, slow.inFlight());
    }
}
