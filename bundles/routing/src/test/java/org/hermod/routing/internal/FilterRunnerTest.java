package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.testing.Poll;
import org.junit.After;
import org.junit.Test;

/** The bulkheads: per filter name across versions, a reserve for the router, waiting for a slot within the budget. */
public class FilterRunnerTest {

    private static final Duration FIVE_S = Duration.ofSeconds(5);

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

    /** Steps of a stage whose state is the last decision; {@code result} maps it. */
    private static FilterRunner.Steps<FilterDecision> steps(Map<String, FilterRunner.Call> calls) {
        return new FilterRunner.Steps<>() {
            @Override
            public FilterRunner.Call call(FilterEntry filter, FilterDecision state) {
                return calls.get(filter.name);
            }

            @Override
            public FilterDecision merge(FilterDecision state, FilterDecision decision) {
                return decision;
            }

            @Override
            public boolean isFinal(FilterDecision state) {
                return state.isFinal();
            }
        };
    }

    @Test
    public void aFloodOfOtherStagesWhileOtherFiltersAreStuckLeavesTheRouterItsThread() throws Exception {
        FilterRunner small = new FilterRunner(1, 4); // others may hold 3 threads, one filter 2; 1 is the router's
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> flood = new ArrayList<>();
        try {
            CallLimit slow = new CallLimit(FilterRunner.perFilterLimit(64, 4));
            CallLimit slow2 = new CallLimit(FilterRunner.perFilterLimit(64, 4));
            small.call(entry(1, "slow", slow, false, 60_000), stuck());
            small.call(entry(1, "slow", slow, false, 60_000), stuck());
            small.call(entry(2, "slow2", slow2, false, 60_000), stuck());
            Poll.until("three stuck filters on their threads", FIVE_S, () -> small.activeThreads() >= 3);
            assertEquals("three stuck filters hold what other filters may have", 3, small.activeThreads());
            FilterEntry cheap = entry(3, "cheap", new CallLimit(64), false, 5000);
            for (int i = 0; i < 2; i++) { // sessions whose stages call another filter, as fast as they can
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        small.call(cheap, () -> FilterDecision.proceed()).join();
                    }
                });
                t.start();
                flood.add(t);
            }
            FilterEntry router = entry(9, RuleRouter.NAME, new CallLimit(64), true, 5000);
            int failed = 0;
            int n = 400;
            for (int i = 0; i < n; i++) {
                if (get(small.call(router, () -> FilterDecision.accept())).action() != FilterDecision.Action.ACCEPT) {
                    failed++;
                }
                Thread.sleep(0, 200_000);
            }
            // a router stage may rarely find the reserve thread just finishing the previous one; before the reserve
            // was taken before the hand-off, most failed
            assertTrue("router stages failed for want of a thread: " + failed + " of " + n, failed < n / 10);
        } finally {
            stop.set(true);
            for (Thread t : flood) {
                t.join(5000);
            }
            small.close();
        }
    }

    @Test
    public void closingEndsAStageInACallWithItsFailureAndCallsNoFurtherFilter() throws Exception {
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch callEnded = new CountDownLatch(1);
        AtomicBoolean secondCalled = new AtomicBoolean();
        Map<String, FilterRunner.Call> calls = Map.of("first", () -> {
            inCall.countDown();
            try {
                release.await(); // never released in this test: only an interrupt ends it
            } catch (InterruptedException e) {
                // a filter that takes the interrupt as "stop" and answers
            } finally {
                callEnded.countDown();
            }
            return FilterDecision.proceed();
        }, "second", () -> {
            secondCalled.set(true);
            return FilterDecision.accept();
        });
        CompletableFuture<FilterDecision> stage = runner.run(new FilterEntry[] {
            entry(1, "first", new CallLimit(4), false, 60_000), entry(2, "second", new CallLimit(4), false, 60_000)},
                FilterDecision.proceed(), steps(calls), d -> d);
        assertTrue(inCall.await(5, TimeUnit.SECONDS));
        runner.close(); // the bundle is deactivated
        assertEquals("the stage ends with the first filter's failure", FilterDecision.Action.DEFER, get(stage).action());
        assertTrue("the call was interrupted", callEnded.await(5, TimeUnit.SECONDS));
        Poll.until("the filter threads are idle", FIVE_S, () -> runner.activeThreads() == 0);
        assertFalse("no filter is called after close", secondCalled.get());
    }

    @Test
    public void closingEndsAStageWaitingForASlot() throws Exception {
        CallLimit one = new CallLimit(1);
        runner.call(entry(1, "slow", one, false, 60_000), stuck());
        Poll.until("the stuck call holds the slot", FIVE_S, () -> one.inFlight() > 0);
        CompletableFuture<FilterDecision> waiting = runner.call(entry(1, "slow", one, false, 60_000),
                () -> FilterDecision.accept());
        Poll.until("the second call waits for the slot", FIVE_S, () -> one.waiting() > 0);
        assertEquals(1, one.waiting());
        runner.close();
        assertEquals("a stage waiting within a long budget ends on close", FilterDecision.Action.DEFER,
                get(waiting).action());
        assertEquals("and leaves the queue", 0, one.waiting());
    }

    @Test
    public void aStageWhoseResultThrowsStillCompletesWithItsFailure() throws Exception {
        for (Throwable bug : new Throwable[] {new IllegalStateException("bug"), new AssertionError("error")}) {
            CompletableFuture<FilterDecision> stage = runner.run(
                    new FilterEntry[] {entry(1, "a", new CallLimit(4), false, 5000)}, FilterDecision.proceed(),
                    steps(Map.of("a", () -> FilterDecision.accept())), d -> {
                        if (d.action() == FilterDecision.Action.ACCEPT) {
                            sneakyThrow(bug);
                        }
                        return d;
                    });
            assertEquals(bug.toString(), FilterDecision.Action.DEFER, get(stage).action());
        }
    }

    @Test
    public void anErrorEndingOneStageOnTheWatchdogDoesNotStopBudgetsOfOthers() throws Exception {
        FilterRunner.Steps<FilterDecision> broken = new FilterRunner.Steps<>() {
            @Override
            public FilterRunner.Call call(FilterEntry filter, FilterDecision state) {
                return stuck();
            }

            @Override
            public FilterDecision merge(FilterDecision state, FilterDecision decision) {
                throw new AssertionError("a bug in merging a failure");
            }

            @Override
            public boolean isFinal(FilterDecision state) {
                return false;
            }
        };
        CompletableFuture<FilterDecision> first = runner.run(
                new FilterEntry[] {entry(1, "a", new CallLimit(4), false, 50)}, FilterDecision.proceed(), broken,
                d -> d);
        try {
            first.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException expected) {
            // no failure decision could be made for it: it completes, exceptionally
        }
        FilterDecision second = get(runner.call(entry(2, "b", new CallLimit(4), false, 50), stuck()));
        assertEquals("the watchdog still ends a call past its budget", FilterDecision.Action.DEFER, second.action());
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }
}
