package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;

/** Waiters whose budget ran out leave the queue, and a raised limit serves the callers still waiting. */
public class CallLimitTest {

    @Test
    public void aCancelledWaiterLeavesTheQueueAndIsNotAheadOfLaterCallers() {
        CallLimit limit = new CallLimit(1);
        assertTrue(limit.tryAcquire()); // a stuck call holds the only slot
        for (int i = 0; i < 100; i++) { // stages that waited their budget out, each holding its state (a message)
            CallLimit.Waiter w = limit.waiter(() -> {
                throw new AssertionError("a cancelled waiter ran");
            });
            assertFalse(limit.acquireNow(w));
            assertTrue(w.cancel());
        }
        assertEquals("nothing of the cancelled stages is kept", 0, limit.waiting());
        limit.setLimit(2); // the operator raises the limit
        AtomicInteger ran = new AtomicInteger();
        assertTrue("a new call gets the raised limit's slot at once, not behind dead waiters",
                limit.acquireNow(limit.waiter(ran::incrementAndGet)));
        assertEquals(2, limit.inFlight());
        assertEquals(0, ran.get());
    }

    @Test
    public void aRaisedLimitGrantsTheWaitingCallsAtOnce() {
        CallLimit limit = new CallLimit(1);
        assertTrue(limit.tryAcquire());
        AtomicInteger granted = new AtomicInteger();
        for (int i = 0; i < 4; i++) {
            assertFalse(limit.acquireNow(limit.waiter(granted::incrementAndGet)));
        }
        limit.setLimit(3);
        assertEquals("two more slots: two waiting calls go on without waiting for a call to end", 2, granted.get());
        assertEquals(3, limit.inFlight());
        assertEquals(2, limit.waiting());
        limit.release();
        assertEquals("the next slot that frees goes to the next waiter", 3, granted.get());
        assertEquals(3, limit.inFlight());
    }
}
