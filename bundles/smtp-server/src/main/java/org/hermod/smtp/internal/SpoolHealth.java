package org.hermod.smtp.internal;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * What the sessions learnt about the spool's disk, shared by all of them: after the spool refused a message for lack
 * of space, new transactions are refused at MAIL with {@code 452 4.3.1} for a few seconds (as Postfix does at MAIL
 * when the queue file system is below queue_minfree), so clients do not send whole messages only to have them refused
 * at the end. Acceptance resumes by itself: after the window the next message is tried again, and a successful store
 * clears the state. Thread-safe; never blocks.
 */
final class SpoolHealth {

    static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final LongSupplier clock;
    private volatile long fullSince;
    private volatile boolean full;

    SpoolHealth(LongSupplier clock) {
        this.clock = clock;
    }

    /** The spool refused a message for lack of space. */
    void full() {
        fullSince = clock.getAsLong();
        full = true;
    }

    /** The spool stored a message. */
    void stored() {
        full = false;
    }

    /** Whether new transactions should be refused now. */
    boolean refuseNewMail() {
        return full && clock.getAsLong() - fullSince < WINDOW_NANOS;
    }
}
