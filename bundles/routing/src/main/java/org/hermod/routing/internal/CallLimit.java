package org.hermod.routing.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A limit of calls in flight whose waiters wait without holding a thread: {@link #acquireNow} takes a slot at once when
 * one is free, else queues the waiter and runs its task on the thread of the {@link #release} that frees a slot; a waiter can be
 * {@linkplain Waiter#cancel() cancelled} (its time budget ran out), which takes it out of the queue. The limit can change
 * while calls run (a raised limit grants waiters at once, a lowered one takes slots away as calls end).
 */
final class CallLimit {

    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private int limit;
    private int inFlight;

    CallLimit(int limit) {
        this.limit = Math.max(1, limit);
    }

    /** A queued call; cancelling it after it was granted does nothing. */
    final class Waiter {
        private final Runnable granted;
        private final AtomicBoolean done = new AtomicBoolean();

        private Waiter(Runnable granted) {
            this.granted = granted;
        }

        /**
         * True when the waiter was still waiting (it will not run now). It leaves the queue at once, so that what its
         * task holds (a stage's state, a whole message at end of data) is not kept and later callers do not queue
         * behind it.
         */
        boolean cancel() {
            synchronized (CallLimit.this) {
                if (!done.compareAndSet(false, true)) {
                    return false;
                }
                waiters.remove(this);
                return true;
            }
        }
    }

    /** A slot now, without waiting. */
    synchronized boolean tryAcquire() {
        if (inFlight < limit) {
            inFlight++;
            return true;
        }
        return false;
    }

    /** A slot now when one is free and nobody waits for one (no barging past waiters); else nothing is queued. */
    synchronized boolean acquireIfFree() {
        if (inFlight < limit && waiters.isEmpty()) {
            inFlight++;
            return true;
        }
        return false;
    }

    /** A waiter that will run {@code granted} holding a slot, once passed to {@link #acquireNow}. */
    Waiter waiter(Runnable granted) {
        return new Waiter(granted);
    }

    /**
     * A slot now (true; the waiter will not run), or the waiter queued (false): it runs on the thread of the
     * {@link #release} that frees a slot for it, unless cancelled first.
     */
    boolean acquireNow(Waiter w) {
        synchronized (this) {
            if (inFlight >= limit || !waiters.isEmpty()) {
                waiters.add(w);
                return false;
            }
            inFlight++;
        }
        w.done.set(true);
        return true;
    }

    /** Gives a slot back, or hands it to the first waiter still waiting. */
    void release() {
        Waiter next;
        synchronized (this) {
            if (inFlight > limit) { // the limit shrank: the slot goes away
                inFlight--;
                return;
            }
            do {
                next = waiters.poll();
            } while (next != null && !next.done.compareAndSet(false, true));
            if (next == null) {
                inFlight--;
                return;
            }
        }
        next.granted.run();
    }

    /** A new limit; a raised one grants waiting calls at once, up to the new limit. */
    void setLimit(int newLimit) {
        List<Waiter> grant = new ArrayList<>();
        synchronized (this) {
            limit = Math.max(1, newLimit);
            while (inFlight < limit) {
                Waiter next = waiters.poll();
                if (next == null) {
                    break;
                }
                if (next.done.compareAndSet(false, true)) {
                    inFlight++;
                    grant.add(next);
                }
            }
        }
        for (Waiter w : grant) {
            w.granted.run();
        }
    }

    /** Calls queued for a slot (for tests). */
    synchronized int waiting() {
        return waiters.size();
    }

    synchronized int inFlight() {
        return inFlight;
    }
}
