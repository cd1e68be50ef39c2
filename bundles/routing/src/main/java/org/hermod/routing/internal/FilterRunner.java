package org.hermod.routing.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.hermod.api.filter.FilterDecision;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs filter calls on the filter threads, never on the caller's: each call gets its filter's time budget, and a call
 * that throws, returns nothing or runs past the budget yields the filter's failure decision (DEFER 451 4.3.0, or REJECT
 * 554 5.3.0) and is counted. A call past its budget is interrupted.
 *
 * <p>Bulkheads, so that stuck filters cannot stall other sessions: the pool grows on demand (no queue) up to
 * {@code maxThreads}; each filter name may have at most its {@link FilterEntry#limit} calls in flight (shared by all
 * versions of the name; at most half the pool unless it is the built-in router), and a call finding that limit full
 * waits for a slot within its time budget, without holding a thread. All filters but the router together may hold at
 * most {@link #othersLimit(int)} threads, so the router always finds one; a call beyond that fails at once. A slot is
 * given back only when the call really ends, so a filter that ignores interruption uses up its own slots.
 */
final class FilterRunner implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FilterRunner.class);

    /** A stage's call of one filter. */
    @FunctionalInterface
    interface Call {
        FilterDecision run() throws Exception;
    }

    private final ThreadPoolExecutor pool;
    private final ScheduledExecutorService timer;
    private final ExecutorService merge;
    private volatile Thread timerThread;
    private final Executor continuation;
    private final java.util.concurrent.atomic.AtomicLong lastWarn = new java.util.concurrent.atomic.AtomicLong(
            System.nanoTime() - 2_000_000_000L);

    private final CallLimit others;

    FilterRunner(int coreThreads, int maxThreads) {
        others = new CallLimit(othersLimit(maxThreads));
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(Math.max(1, coreThreads), Math.max(Math.max(1, coreThreads), maxThreads), 60,
                TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "hermod-filter-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-filter-timer");
            t.setDaemon(true);
            timerThread = t;
            return t;
        });
        AtomicInteger m = new AtomicInteger();
        merge = java.util.concurrent.Executors.newFixedThreadPool(
                Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
                    Thread t = new Thread(r, "hermod-filter-merge-" + m.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        continuation = r -> {
            try {
                merge.execute(r);
            } catch (RejectedExecutionException e) { // shut down: finish the stage where it is (it fails safe)
                r.run();
            }
        };
    }

    /** Threads that filters other than the router may hold together: all but a reserve of a quarter (at least one). */
    static int othersLimit(int maxThreads) {
        int max = Math.max(1, maxThreads);
        return Math.max(1, max - Math.max(1, max / 4));
    }

    /** Calls of one filter (not the router) in flight at most: the configured limit, and at most half the pool. */
    static int perFilterLimit(int maxConcurrent, int maxThreads) {
        return Math.max(1, Math.min(maxConcurrent, Math.max(1, maxThreads) / 2));
    }

    /** New pool sizes, applied at once (running calls keep their threads). */
    void resize(int coreThreads, int maxThreads) {
        int core = Math.max(1, coreThreads);
        int max = Math.max(core, maxThreads);
        others.setLimit(othersLimit(max));
        if (max >= pool.getCorePoolSize()) {
            pool.setMaximumPoolSize(max);
            pool.setCorePoolSize(core);
        } else {
            pool.setCorePoolSize(core);
            pool.setMaximumPoolSize(max);
        }
    }

    /**
     * Where a stage starts and continues after each call: a few merge threads that only merge decisions and hand the
     * next call to the filter pool (they never wait), so the filter pool's threads all serve filter calls and a stage
     * never runs on the caller's thread.
     */
    Executor executor() {
        return continuation;
    }

    /**
     * True on the budget timer's thread: a stage continuing after a timeout hops to a merge thread from there, so the
     * timer only ever completes futures. Elsewhere (a filter thread that just finished a call, a merge thread) the stage
     * continues in place, saving a thread hop per filter.
     */
    boolean onTimerThread() {
        return Thread.currentThread() == timerThread;
    }

    /** Threads running calls now (for tests and the console). */
    int activeThreads() {
        return pool.getActiveCount();
    }

    /**
     * Calls a filter; the future completes with its decision or its failure decision, never exceptionally. The time
     * budget runs from now, waiting for a slot of the filter's limit included.
     */
    CompletableFuture<FilterDecision> call(FilterEntry filter, Call call) {
        CompletableFuture<FilterDecision> result = new CompletableFuture<>();
        long start = System.nanoTime();
        AtomicBoolean settled = new AtomicBoolean();
        AtomicReference<Future<?>> task = new AtomicReference<>();
        AtomicReference<CallLimit.Waiter> waiting = new AtomicReference<>();
        ScheduledFuture<?> timeout = timer.schedule(() -> {
            if (settled.compareAndSet(false, true)) {
                filter.stats.failed(System.nanoTime() - start, failure(filter), true);
                result.complete(failure(filter));
                CallLimit.Waiter w = waiting.get();
                if (w != null && w.cancel()) {
                    LOG.warn("filter {}: its limit of calls in flight stayed full for its budget of {} ms",
                            filter.name, filter.timeoutMillis);
                    return;
                }
                LOG.warn("filter {} ran past its budget of {} ms; interrupted", filter.name, filter.timeoutMillis);
                Future<?> f = task.get();
                if (f != null) {
                    f.cancel(true);
                }
            }
        }, filter.timeoutMillis, TimeUnit.MILLISECONDS);
        result.whenComplete((d, t) -> timeout.cancel(false));
        waiting.set(filter.limit.acquire(() -> start(filter, call, result, settled, task, start)));
        return result;
    }

    /** Holding a slot of the filter's limit: runs the call on a filter thread, or fails at once with none free. */
    private void start(FilterEntry filter, Call call, CompletableFuture<FilterDecision> result, AtomicBoolean settled,
                       AtomicReference<Future<?>> task, long start) {
        if (settled.get()) { // the budget ran out just as the slot came free
            filter.limit.release();
            return;
        }
        boolean other = !filter.reserved;
        if (other && !others.tryAcquire()) {
            filter.limit.release();
            noThread(filter, result, settled);
            return;
        }
        try {
            task.set(pool.submit(() -> {
                try {
                    FilterDecision d = call.run();
                    if (d == null) {
                        throw new IllegalStateException("filter returned no decision");
                    }
                    if (settled.compareAndSet(false, true)) { // counted before anyone sees the decision
                        filter.stats.called(System.nanoTime() - start, d);
                        result.complete(d);
                    }
                } catch (Throwable t) { // a filter must never take a thread or a transaction down
                    if (settled.compareAndSet(false, true)) {
                        filter.stats.failed(System.nanoTime() - start, failure(filter), false);
                        result.complete(failure(filter));
                        LOG.warn("filter {} failed: {}", filter.name, t.toString());
                    }
                    if (t instanceof VirtualMachineError e && !(t instanceof StackOverflowError)) {
                        throw e;
                    }
                } finally {
                    if (other) {
                        others.release();
                    }
                    filter.limit.release();
                }
            }));
        } catch (RejectedExecutionException e) {
            if (other) {
                others.release();
            }
            filter.limit.release();
            noThread(filter, result, settled);
        }
    }

    private void noThread(FilterEntry filter, CompletableFuture<FilterDecision> result, AtomicBoolean settled) {
        if (warnNow()) {
            LOG.warn("filter {}: no filter thread free ({} busy; logged at most once a second)", filter.name,
                    pool.getActiveCount());
        }
        if (settled.compareAndSet(false, true)) {
            filter.stats.failed(0, failure(filter), true);
            result.complete(failure(filter));
        }
    }

    private boolean warnNow() {
        long now = System.nanoTime();
        long last = lastWarn.get();
        return now - last > 1_000_000_000L && lastWarn.compareAndSet(last, now);
    }

    static FilterDecision failure(FilterEntry filter) {
        return filter.rejectOnFailure ? FilterDecision.reject(554, "5.3.0", "Message refused by a filter failure")
                : FilterDecision.defer(451, "4.3.0", "Temporary filter failure, try again later");
    }

    @Override
    public void close() {
        timer.shutdownNow();
        merge.shutdownNow();
        pool.shutdownNow();
    }
}
