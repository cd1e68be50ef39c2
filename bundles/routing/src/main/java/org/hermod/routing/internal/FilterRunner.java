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
 * waits for a slot without a thread (giving its thread back if it had one) within its time budget, the stage going on
 * on a filter thread when one comes free. A stage holds one of {@link #othersLimit(int)} slots whenever it has a
 * thread for a filter other than the router, taken before it is handed to a thread, so the router always finds a
 * thread; a stage beyond that fails at once. A slot is given back only when the call really ends, so a filter that
 * ignores interruption uses up its own slots.
 *
 * <p>{@link #close()} ends the stages in a call (interrupted) or waiting for a slot with their failure; a stage
 * between two calls ends so before its next call. No filter is called after close.
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

        /**
         * The index of the next filter to call after a decision was merged into {@code state}; {@code next} (the one
         * after the last called) unless the state skips some (the rest of the MAIL part of a MAIL-and-RCPT run).
         */
        default int next(S state, int next) {
            return next;
        }
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
     * budget (and {@link #close()} to end a call or a wait), so that its interrupt reaches that call and no other.
     */
    private final class StageRun<S, R> implements Runnable {
        final FilterEntry[] filters;
        final Steps<S> steps;
        final Function<S, R> result;
        final CompletableFuture<R> out = new CompletableFuture<>();
        private S state;
        private int index;
        private boolean holdsSlot; // holds a slot of filters[index]'s limit, taken before the hand-off to a thread
        private boolean holdsOthers; // one of the others slots, held while the stage has a thread for a non-router filter
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

        /**
         * Hands the stage to a filter thread. The current filter's budget starts here and its slot is taken first: a
         * stage finding its limit full waits without a thread and comes back here when granted ({@code slotHeld}).
         * A stage whose filter is not the router then takes one of the others slots, so that it never takes a
         * thread of the router's reserve; with no such slot or no thread free it fails with the filter's failure.
         */
        void submit(boolean slotHeld) {
            if (index >= filters.length) { // nothing to call
                if (end()) {
                    finishElsewhere(result.apply(state));
                }
                return;
            }
            FilterEntry f = filters[index];
            if (!slotHeld && !acquire(f)) {
                return; // waiting for a slot without a thread (granted() comes back here), or ended
            }
            if (!f.reserved && !others.tryAcquire()) {
                refuse(f, true);
                return;
            }
            holdsOthers = !f.reserved;
            holdsSlot = true;
            try {
                pool.execute(this);
            } catch (RejectedExecutionException e) {
                dropOthers();
                holdsSlot = false;
                refuse(f, true);
            }
        }

        private void refuse(FilterEntry f, boolean slotHeld) {
            if (slotHeld) {
                f.limit.release();
            }
            if (!end()) {
                return;
            }
            noThread(f);
            finishElsewhere(fail(f));
        }

        private void dropOthers() {
            if (holdsOthers) {
                holdsOthers = false;
                others.release();
            }
        }

        @Override
        public void run() {
            try {
                loop();
            } catch (Throwable unexpected) { // a bug, not a filter's, or an Error: still never an accept, never hung
                if (!(unexpected instanceof VirtualMachineError) || !out.isDone()) {
                    LOG.error("filter stage failed", unexpected);
                }
                dropOthers();
                end();
                running.remove(this);
                completeFailed(state, filters[Math.min(index, filters.length - 1)], unexpected, false);
                if (unexpected instanceof VirtualMachineError e) {
                    throw e;
                }
            }
        }

        private void loop() {
            while (true) {
                if (index == filters.length || steps.isFinal(state)) {
                    dropOthers();
                    if (end()) {
                        finish(result.apply(state));
                    }
                    return;
                }
                FilterEntry f = filters[index];
                boolean other = !f.reserved;
                if (!other) {
                    dropOthers(); // from a filter to the router on this thread: the router needs no others slot
                }
                if (holdsSlot) {
                    holdsSlot = false;
                } else if (!acquire(f)) {
                    return; // waiting for a slot without a thread (granted() goes on), or ended
                }
                if (other && !holdsOthers) { // from the router to another filter on this thread
                    if (!others.tryAcquire()) {
                        f.limit.release();
                        if (end()) {
                            noThread(f);
                            finish(fail(f));
                        }
                        return;
                    }
                    holdsOthers = true;
                }
                boolean gone;
                boolean closing = false;
                synchronized (this) {
                    gone = phase == DONE;
                    if (!gone && closed) { // the runner closed: no filter is called any more
                        phase = DONE;
                        closing = true;
                    } else if (!gone) {
                        phase = CALLING;
                        thread = Thread.currentThread();
                    }
                }
                if (gone || closing) {
                    f.limit.release();
                    dropOthers();
                    if (closing) {
                        finish(fail(f));
                    }
                    return;
                }
                FilterDecision d = null;
                Throwable error = null;
                try {
                    d = steps.call(f, state).run();
                    if (d == null) {
                        throw new IllegalStateException("filter returned no decision");
                    }
                } catch (Throwable t) { // a filter must never take a thread or a transaction down
                    error = t;
                }
                synchronized (this) {
                    gone = phase == DONE; // past its budget, or the runner closed
                    if (!gone) {
                        phase = QUEUED;
                        deadline = Long.MAX_VALUE;
                    }
                    thread = null;
                }
                // the watchdog's interrupt (delivered under the lock), or one the filter left set: the next
                // filter on this thread must not see it
                Thread.interrupted();
                try {
                    if (gone) {
                        return; // the watchdog or close() counted it and ended the stage
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
                    index = Math.max(index + 1, steps.next(state, index + 1));
                } finally {
                    if (gone) {
                        dropOthers();
                    }
                    f.limit.release();
                }
                if (error instanceof VirtualMachineError e && !(error instanceof StackOverflowError)) {
                    dropOthers();
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

        /**
         * Starts the budget of the current filter and takes a slot of its limit: now (true), or queued without a
         * thread and without an others slot (false; also when the stage ended).
         */
        private boolean acquire(FilterEntry f) {
            synchronized (this) {
                callStart = System.nanoTime();
                deadline = callStart + TimeUnit.MILLISECONDS.toNanos(f.timeoutMillis);
            }
            if (f.limit.acquireIfFree()) {
                return true;
            }
            dropOthers(); // the thread is given back while the stage waits, and so is its others slot
            CallLimit.Waiter w = f.limit.waiter(this::granted);
            boolean closing = false;
            synchronized (this) {
                if (phase == DONE) {
                    return false;
                }
                if (closed) {
                    phase = DONE;
                    closing = true;
                } else {
                    waiter = w;
                    phase = WAITING;
                }
            }
            if (closing) {
                finishElsewhere(fail(f)); // maybe on the caller's thread
                return false;
            }
            if (f.limit.acquireNow(w)) {
                synchronized (this) {
                    waiter = null;
                    if (phase == DONE) { // ran past its budget, or the runner closed, in that instant
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
            }
            submit(true);
        }

        /** On the watchdog: ends the stage when the current call (or its wait for a slot) is past its budget. */
        void check(long now) {
            if (now - deadline >= 0) {
                stop(now, false);
            }
        }

        /**
         * Ends the stage with its current filter's failure when it is calling that filter or waiting for a slot of its
         * limit: past its budget, or (closing) because the runner closed. The call is interrupted, the wait cancelled.
         */
        void stop(long now, boolean closing) {
            FilterEntry f;
            boolean waited;
            S s;
            long started;
            synchronized (this) {
                if ((!closing && now - deadline < 0) || (phase != WAITING && phase != CALLING)) {
                    return;
                }
                f = filters[index];
                waited = phase == WAITING;
                if (waited && waiter != null) {
                    waiter.cancel(); // a slot granted in this instant is given back by granted()
                }
                phase = DONE;
                if (thread != null) {
                    thread.interrupt();
                }
                s = state;
                started = callStart;
            }
            if (closing) {
                LOG.debug("filter {}: stage ended, the filter runner closed", f.name);
            } else {
                f.stats.failed(now - started, failure(f), true);
                if (waited) {
                    LOG.warn("filter {}: its limit of calls in flight stayed full for its budget of {} ms", f.name,
                            f.timeoutMillis);
                } else {
                    LOG.warn("filter {} ran past its budget of {} ms; interrupted", f.name, f.timeoutMillis);
                }
            }
            running.remove(this);
            completeFailed(s, f, null, true);
        }

        /** Completes with {@code f}'s failure merged into {@code s}; exceptionally only if even that cannot be made. */
        private void completeFailed(S s, FilterEntry f, Throwable cause, boolean elsewhere) {
            R r;
            try {
                r = result.apply(merged(s, f, failure(f)));
            } catch (Throwable t) {
                if (cause != null) {
                    t.addSuppressed(cause);
                }
                LOG.error("filter stage: no failure decision could be made", t);
                out.completeExceptionally(t);
                return;
            }
            if (elsewhere) {
                finishElsewhere(r);
            } else {
                out.complete(r);
            }
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
                } catch (Throwable e) { // one stage's bug (or an Error) must not end the only watchdog
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
        // the watchdog stops: a stage in a call or waiting for a slot ends now with its failure (its call
        // interrupted); one between two calls sees `closed` before its next call
        long now = System.nanoTime();
        for (StageRun<?, ?> r : running) {
            try {
                r.stop(now, true);
            } catch (Throwable e) {
                LOG.error("filter runner close", e);
            }
        }
        completions.shutdown();
    }
}
