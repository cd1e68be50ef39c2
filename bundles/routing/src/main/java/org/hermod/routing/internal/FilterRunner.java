package org.hermod.routing.internal;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

import org.hermod.api.filter.FilterDecision;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a stage's filters on the filter threads, never on the caller's: the whole stage is one task on one filter
 * thread that calls its filters in order in place. Each call gets its filter's time budget; a call that throws,
 * returns nothing or runs past the budget yields the filter's failure decision (DEFER 451 4.3.0, or REJECT 554 5.3.0),
 * is counted, and ends the stage. A call past its budget is interrupted, and the stage completes without it.
 *
 * <p>Budgets are kept by one watchdog thread that scans the running stages every {@link #TICK_MILLIS} ms (a stage's
 * deadline is moved per filter, no timer task is scheduled and cancelled per call), so a budget ends up to one tick
 * late.
 *
 * <p>Bulkheads, so that stuck filters cannot stall other sessions: the pool grows on demand (no queue) up to
 * {@code maxThreads}; each filter name may have at most its {@link FilterEntry#limit} calls in flight (shared by all
 * versions of the name; at most half the pool unless it is the built-in router), and a call finding that limit full
 * gives its thread back and waits for a slot within its time budget, the stage going on on a filter thread when one
 * comes free. While a filter other than the router runs it holds one of {@link #othersLimit(int)} slots, so the router
 * always finds a thread; a call beyond that fails at once. A slot is given back only when the call really ends, so a
 * filter that ignores interruption uses up its own slots.
 */
final class FilterRunner implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FilterRunner.class);

    /** How often the watchdog looks at the running stages' deadlines. */
    static final long TICK_MILLIS = 10;

    /** A stage's call of one filter. */
    @FunctionalInterface
    interface Call {
        FilterDecision run() throws Exception;
    }

    /** What a stage does with its filters: the call of one with the state so far, and the merge of its decision. */
    interface Steps<S> {
        Call call(FilterEntry filter, S state);

        /** The state with a decision applied; may throw for a decision that cannot apply. */
        S merge(S state, FilterDecision decision);

        /** True when the state ends the stage (a final action). */
        boolean isFinal(S state);
    }

    private final ThreadPoolExecutor pool;
    private final ExecutorService completions;
    private final Thread watchdog;
    private final Set<StageRun<?, ?>> running = ConcurrentHashMap.newKeySet();
    private volatile boolean watchdogIdle;
    private volatile boolean closed;
    private final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - 2_000_000_000L);

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
        // completes stages that did not end on a filter thread (a budget ran out, no thread was free), so that the
        // watchdog and the caller never run what waits on a stage
        AtomicInteger m = new AtomicInteger();
        completions = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "hermod-filter-done-" + m.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        watchdog = new Thread(this::watch, "hermod-filter-timer");
        watchdog.setDaemon(true);
        watchdog.start();
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

    /** Threads running stages now (for tests and the console). */
    int activeThreads() {
        return pool.getActiveCount();
    }

    /**
     * Runs a stage: calls {@code filters} in order on one filter thread, merging each decision into the state, until
     * the last or a final action, and completes with the state mapped by {@code result}; never exceptionally.
     */
    <S, R> CompletableFuture<R> run(FilterEntry[] filters, S start, Steps<S> steps, Function<S, R> result) {
        StageRun<S, R> run = new StageRun<>(filters, start, steps, result);
        register(run);
        run.submit(false);
        return run.out;
    }

    /**
     * Calls one filter; the future completes with its decision or its failure decision, never exceptionally. The time
     * budget runs from the start of the call, waiting for a slot of the filter's limit included.
     */
    CompletableFuture<FilterDecision> call(FilterEntry filter, Call call) {
        return run(new FilterEntry[] {filter}, FilterDecision.proceed(), new Steps<FilterDecision>() {
            @Override
            public Call call(FilterEntry f, FilterDecision state) {
                return call;
            }

            @Override
            public FilterDecision merge(FilterDecision state, FilterDecision decision) {
                return decision;
            }

            @Override
            public boolean isFinal(FilterDecision state) {
                return false;
            }
        }, d -> d);
    }

    private static final int QUEUED = 0; // submitted to the pool, or between two calls on its thread
    private static final int WAITING = 1; // for a slot of the current filter's limit, without a thread
    private static final int CALLING = 2; // in the current filter
    private static final int DONE = 3; // completed; nothing more runs

    /**
     * One stage in progress. Its state and position change only on the thread running it; the phase, the deadline,
     * that thread and the slot waiter change under the run's lock, which the watchdog takes to end a call past its
     * budget, so that its interrupt reaches that call and no other.
     */
    private final class StageRun<S, R> implements Runnable {
        final FilterEntry[] filters;
        final Steps<S> steps;
        final Function<S, R> result;
        final CompletableFuture<R> out = new CompletableFuture<>();
        private S state;
        private int index;
        private boolean holdsSlot; // granted a slot of filters[index]'s limit while waiting
        private volatile int phase = QUEUED;
        private volatile long deadline = Long.MAX_VALUE;
        private long callStart;
        private Thread thread;
        private CallLimit.Waiter waiter;

        StageRun(FilterEntry[] filters, S start, Steps<S> steps, Function<S, R> result) {
            this.filters = filters;
            this.state = start;
            this.steps = steps;
            this.result = result;
        }

        /** Hands the stage to a filter thread; with none free it fails with the current filter's failure. */
        void submit(boolean slotHeld) {
            try {
                pool.execute(this);
            } catch (RejectedExecutionException e) {
                FilterEntry f = filters[index];
                if (slotHeld) {
                    f.limit.release();
                }
                if (!end()) {
                    return;
                }
                noThread(f);
                finishElsewhere(fail(f));
            }
        }

        @Override
        public void run() {
            try {
                loop();
            } catch (RuntimeException unexpected) { // a bug, not a filter's: still never an accept
                LOG.error("filter stage failed", unexpected);
                if (!end()) {
                    return;
                }
                finish(fail(filters[Math.min(index, filters.length - 1)]));
            }
        }

        private void loop() {
            while (true) {
                if (index == filters.length || steps.isFinal(state)) {
                    if (!end()) {
                        return;
                    }
                    finish(result.apply(state));
                    return;
                }
                FilterEntry f = filters[index];
                if (holdsSlot) {
                    holdsSlot = false;
                } else if (!acquire(f)) {
                    return; // waiting for a slot without a thread; granted() goes on
                }
                boolean other = !f.reserved;
                if (other && !others.tryAcquire()) {
                    f.limit.release();
                    if (!end()) {
                        return;
                    }
                    noThread(f);
                    finish(fail(f));
                    return;
                }
                FilterDecision d = null;
                Throwable error = null;
                boolean gone;
                synchronized (this) {
                    gone = phase == DONE;
                    if (!gone) {
                        phase = CALLING;
                        thread = Thread.currentThread();
                    }
                }
                if (!gone) {
                    try {
                        d = steps.call(f, state).run();
                        if (d == null) {
                            throw new IllegalStateException("filter returned no decision");
                        }
                    } catch (Throwable t) { // a filter must never take a thread or a transaction down
                        error = t;
                    }
                    synchronized (this) {
                        gone = phase == DONE;
                        if (!gone) {
                            phase = QUEUED;
                            deadline = Long.MAX_VALUE;
                        }
                        thread = null;
                    }
                    // the watchdog's interrupt (delivered under the lock), or one the filter left set: the next
                    // filter on this thread must not see it
                    Thread.interrupted();
                }
                try {
                    if (gone) {
                        return; // past its budget: the watchdog counted it and ended the stage
                    }
                    long took = System.nanoTime() - callStart;
                    if (error == null) {
                        f.stats.called(took, d); // counted before anyone sees the decision
                    } else {
                        d = failure(f);
                        f.stats.failed(took, d, false);
                        LOG.warn("filter {} failed: {}", f.name, error.toString());
                    }
                    state = merged(state, f, d);
                    index++;
                } finally {
                    if (other) {
                        others.release();
                    }
                    f.limit.release();
                }
                if (error instanceof VirtualMachineError e && !(error instanceof StackOverflowError)) {
                    if (end()) {
                        finish(fail(f));
                    }
                    throw e;
                }
            }
        }

        /** Ends the stage: true for the one caller that does, false when it had ended already. */
        private synchronized boolean end() {
            if (phase == DONE) {
                return false;
            }
            phase = DONE;
            return true;
        }

        /** Starts the budget of the current filter and takes a slot of its limit: now (true), or queued (false). */
        private boolean acquire(FilterEntry f) {
            CallLimit.Waiter w = f.limit.waiter(this::granted);
            synchronized (this) {
                if (phase == DONE) {
                    return false;
                }
                callStart = System.nanoTime();
                deadline = callStart + TimeUnit.MILLISECONDS.toNanos(f.timeoutMillis);
                waiter = w;
                phase = WAITING;
            }
            if (f.limit.acquireNow(w)) {
                synchronized (this) {
                    waiter = null;
                    if (phase == DONE) { // ran past its budget in that instant
                        f.limit.release();
                        return false;
                    }
                    phase = QUEUED;
                }
                return true;
            }
            return false;
        }

        /** A slot came free for the waiting call (on the thread that released it): the stage goes on on a filter thread. */
        private void granted() {
            synchronized (this) {
                waiter = null;
                if (phase == DONE) {
                    filters[index].limit.release();
                    return;
                }
                phase = QUEUED;
                holdsSlot = true;
            }
            submit(true);
        }

        /** On the watchdog: ends the stage when the current call (or its wait for a slot) is past its budget. */
        void check(long now) {
            if (now - deadline < 0) {
                return;
            }
            FilterEntry f;
            boolean waited;
            S s;
            long started;
            synchronized (this) {
                if (now - deadline < 0 || (phase != WAITING && phase != CALLING)) {
                    return;
                }
                f = filters[index];
                waited = phase == WAITING && waiter != null && waiter.cancel();
                phase = DONE;
                if (thread != null) {
                    thread.interrupt();
                }
                s = state;
                started = callStart;
            }
            FilterDecision fail = failure(f);
            f.stats.failed(now - started, fail, true);
            if (waited) {
                LOG.warn("filter {}: its limit of calls in flight stayed full for its budget of {} ms", f.name,
                        f.timeoutMillis);
            } else {
                LOG.warn("filter {} ran past its budget of {} ms; interrupted", f.name, f.timeoutMillis);
            }
            finishElsewhere(result.apply(merged(s, f, fail)));
        }

        private R fail(FilterEntry f) {
            return result.apply(merged(state, f, failure(f)));
        }

        private S merged(S s, FilterEntry f, FilterDecision d) {
            try {
                return steps.merge(s, d);
            } catch (RuntimeException bad) { // a decision that cannot apply (e.g. a header edit of broken content)
                return steps.merge(s, failure(f));
            }
        }

        private void finish(R r) {
            running.remove(this);
            out.complete(r);
        }

        /** Completes off the watchdog's (or the caller's) thread. */
        private void finishElsewhere(R r) {
            running.remove(this);
            try {
                completions.execute(() -> out.complete(r));
            } catch (RejectedExecutionException e) { // shut down
                out.complete(r);
            }
        }
    }

    private void register(StageRun<?, ?> run) {
        running.add(run);
        if (watchdogIdle) {
            LockSupport.unpark(watchdog);
        }
    }

    /** The watchdog: parks while no stage runs, else looks at the deadlines every tick. */
    private void watch() {
        long tick = TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
        while (!closed) {
            if (running.isEmpty()) {
                watchdogIdle = true;
                if (running.isEmpty() && !closed) {
                    LockSupport.park(this);
                }
                watchdogIdle = false;
                continue;
            }
            LockSupport.parkNanos(this, tick);
            long now = System.nanoTime();
            for (StageRun<?, ?> r : running) {
                try {
                    r.check(now);
                } catch (RuntimeException e) {
                    LOG.error("filter watchdog", e);
                }
            }
        }
    }

    private void noThread(FilterEntry filter) {
        if (warnNow()) {
            LOG.warn("filter {}: no filter thread free ({} busy; logged at most once a second)", filter.name,
                    pool.getActiveCount());
        }
        filter.stats.failed(0, failure(filter), true);
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
        closed = true;
        LockSupport.unpark(watchdog);
        pool.shutdownNow();
        completions.shutdown();
    }
}
