package org.hermod.api.spool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.time.Instant;
import java.util.List;

import org.junit.Test;

/**
 * {@link DeliveryQueueContract} plus what a crash must not change, for queues that keep mail on disk: a lease is not
 * durable (leased mail is due again after a crash), outcomes are (a completed stage survives the crash), and so are
 * retry times, attempt counts and suspensions.
 */
public abstract class DurableDeliveryQueueContract extends DeliveryQueueContract {

    /**
     * Simulates a crash of {@link #subject} (no orderly hand-back of leases; what was durable stays on disk) and opens
     * the same storage again.
     */
    protected abstract Subject crashAndReopen(Subject crashed) throws Exception;

    private void restart() throws Exception {
        Subject old = subject;
        subject = null;
        subject = crashAndReopen(old);
    }

    @Test
    public void mailLeasedWhenTheProcessDiesIsDueAgainAfterRestart() throws Exception {
        String id = subject.store(envelope("alice@origin.test", "bob@dest.test"), content("crash"));
        leaseEventually("dest.test", 1);
        restart();
        DeliveryItem again = leaseEventually("dest.test", 1).get(0);
        assertEquals(id, again.queueId());
        assertEquals(0, again.attempts());
    }

    @Test
    public void completedOutcomesSurviveARestart() throws Exception {
        subject.store(envelope("alice@origin.test", "ok@dest.test", "later@dest.test"), content("outcome"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        await(item.complete(List.of(delivered(item.envelope().recipients().get(0)),
                deferred(item.envelope().recipients().get(1))), Instant.now()));
        restart();
        DeliveryItem again = leaseEventually("dest.test", 1).get(0);
        assertEquals("the delivered recipient is never sent again", List.of("later@dest.test"), addresses(again));
        assertEquals(1, again.attempts());
        assertNotNull("the last attempt's time is kept", again.lastAttempt());
    }

    @Test
    public void aRetryTimeInTheFutureSurvivesARestart() throws Exception {
        subject.store(envelope("alice@origin.test", "later@dest.test"), content("deferred"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        await(item.complete(all(item, DeliveryQueueContract::deferred), Instant.now().plusSeconds(3600)));
        restart();
        subject.store(envelope("alice@origin.test", "marker@dest.test"), content("marker"));
        List<DeliveryItem> due = leaseEventually("dest.test", 10);
        assertEquals("only the new message is due", 1, due.size());
        assertEquals(List.of("marker@dest.test"), addresses(due.get(0)));
    }

    @Test
    public void aSuspensionSurvivesARestart() throws Exception {
        subject.suspend("held.test");
        subject.store(envelope("alice@origin.test", "x@held.test"), content("held"));
        restart();
        assertTrue(subject.queue().lease("held.test", 10).isEmpty());
        assertTrue(subject.resume("held.test"));
        leaseEventually("held.test", 1);
    }
}
