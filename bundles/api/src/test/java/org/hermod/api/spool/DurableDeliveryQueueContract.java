package org.hermod.api.spool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.hermod.api.routing.Route;

import org.junit.Test;

/**
 * {@link DeliveryQueueContract} plus what a crash must not change, for queues that keep mail on disk: a lease is not
 * durable (leased mail is due again after a crash), outcomes are (a completed stage survives the crash), and so are
 * retry times, attempt counts and suspensions; routes and holds stored with the messages, and route priority.
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

    private static final Route ROUTE = new Route("marketing", "[192.0.2.25]:2525", "tenant-7", "spring-sale", 3,
            Map.of("list", "weekly", "cost centre", "42 b"));

    @Test
    public void aRouteIsStoredWithItsMessageAndSurvivesACrash() throws Exception {
        String id = subject.store(envelope("alice@origin.test", "bob@dest.test"), ROUTE, null, content("routed"));
        assertEquals(ROUTE, leaseEventually("dest.test", 1).get(0).route());
        restart();
        DeliveryItem again = leaseEventually("dest.test", 1).get(0);
        assertEquals(id, again.queueId());
        assertEquals("every field and tag comes back", ROUTE, again.route());
    }

    @Test
    public void mailWithoutARouteHasTheDefaultRoute() throws Exception {
        subject.store(envelope("alice@origin.test", "bob@dest.test"), content("plain"));
        assertEquals(Route.DEFAULT, leaseEventually("dest.test", 1).get(0).route());
    }

    @Test
    public void heldMailIsNotLeasedUntilReleasedAndTheHoldSurvivesACrash() throws Exception {
        String held = subject.store(envelope("alice@origin.test", "x@dest.test"), ROUTE, "quarantine: looks like spam",
                content("held"));
        String free = subject.store(envelope("alice@origin.test", "y@dest.test"), content("free"));
        assertEquals("only the mail not held is leased", List.of(free), ids(leaseEventually("dest.test", 10)));
        restart();
        DeliveryItem freeAgain = leaseEventually("dest.test", 10).get(0);
        assertEquals(free, freeAgain.queueId());
        assertTrue("still held after the crash", subject.queue().lease("dest.test", 10).isEmpty());
        assertTrue(subject.releaseHold(held));
        assertFalse("releasing twice reports it", subject.releaseHold(held));
        DeliveryItem released = leaseEventually("dest.test", 10).get(0);
        assertEquals(held, released.queueId());
        assertEquals(ROUTE, released.route());
    }

    @Test
    public void aHoldAndItsReleaseAreDurable() throws Exception {
        String id = subject.store(envelope("alice@origin.test", "x@dest.test"), content("to hold"));
        assertTrue(subject.hold(id, "operator says wait"));
        assertTrue("held mail is not due", subject.queue().lease("dest.test", 10).isEmpty());
        assertFalse(subject.queue().readyDomains().contains("dest.test"));
        restart();
        assertTrue("the hold survives the crash", subject.queue().lease("dest.test", 10).isEmpty());
        assertTrue(subject.releaseHold(id));
        restart();
        assertEquals("the release survives the crash", id, leaseEventually("dest.test", 1).get(0).queueId());
        assertFalse("an unknown message cannot be held", subject.hold("no-such-id", "x"));
    }

    @Test
    public void aHoldDuringAnAttemptLetsItFinishAndThenWaits() throws Exception {
        String id = subject.store(envelope("alice@origin.test", "x@dest.test"), content("in flight"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        assertTrue(subject.hold(id, "wait"));
        assertTrue(item.isLeased());
        await(item.complete(all(item, DeliveryQueueContract::deferred), Instant.now()));
        assertTrue("deferred while held: not due though its retry time has come",
                subject.queue().lease("dest.test", 10).isEmpty());
        assertTrue(subject.releaseHold(id));
        DeliveryItem again = leaseEventually("dest.test", 1).get(0);
        assertEquals(1, again.attempts());
    }

    @Test
    public void higherPriorityIsLeasedFirstThenOldest() throws Exception {
        List<String> expected = new ArrayList<>();
        String low1 = subject.store(envelope("a@origin.test", "l1@dest.test"), Route.DEFAULT.withPriority(-1), null,
                content("low1"));
        String normal1 = subject.store(envelope("a@origin.test", "n1@dest.test"), content("normal1"));
        String high1 = subject.store(envelope("a@origin.test", "h1@dest.test"), Route.DEFAULT.withPriority(5), null,
                content("high1"));
        String normal2 = subject.store(envelope("a@origin.test", "n2@dest.test"), content("normal2"));
        String high2 = subject.store(envelope("a@origin.test", "h2@dest.test"), Route.DEFAULT.withPriority(5), null,
                content("high2"));
        expected.addAll(List.of(high1, high2, normal1, normal2, low1));
        List<String> got = new ArrayList<>();
        eventually("all five leased", () -> {
            subject.queue().lease("dest.test", 1).forEach(i -> got.add(i.queueId()));
            return got.size() == 5;
        });
        assertEquals(expected, got);
    }

    private static List<String> ids(List<DeliveryItem> items) {
        List<String> out = new ArrayList<>();
        items.forEach(i -> out.add(i.queueId()));
        return out;
    }
}
