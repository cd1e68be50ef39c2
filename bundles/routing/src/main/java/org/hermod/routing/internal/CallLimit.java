package org.hermod.routing.internal;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A limit of calls in flight whose waiters wait without holding a thread: {@link #acquireNow} takes a slot at once when
 * one is free, else queues the waiter and runs its task on the thread of the {@link #release} that frees a slot; a waiter can be
 * {@linkplain Waiter#cancel() cancelled} (its time budget ran out). The limit can change while calls run (a
 * raised limit serves waiters as calls end).
 */
final class CallLimit {

    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private int limit;
    private int inFlight;

    CallLimit(int limit) {
        this.limit = Math.max(1, limit);
    }

    /** A queued call; cancelling it after it was granted does nothing. */
    static final class Waiter {
        private final Runnable granted;
        private final AtomicBoolean done = new AtomicBoolean();

        private Waiter(Runnable granted) {
            this.granted = granted;
        }

        /** True when the waiter was still waiting (it will not run now). */
        boolean cancel() {
            return done.compareAndSet(false, true);
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

    synchronized void setLimit(int newLimit) {
        limit = Math.max(1, newLimit);
    }

    synchronized int inFlight() {
        return inFlight;
    }
}
