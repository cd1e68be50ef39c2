package org.hermod.api.testing;

import static org.junit.Assert.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition with a deadline (for outcomes no future reports, e.g. a peer's view of the wire). */
public final class Poll {

    private Poll() {
    }

    /** Returns as soon as the condition holds; fails the test when it does not hold within {@code within}. */
    public static void until(String what, Duration within, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("not within " + within + ": " + what);
            }
            Thread.sleep(5); // the polling interval of a bounded wait on an outcome, not a guess at how long it takes
        }
    }
}
