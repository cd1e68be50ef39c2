package org.hermod.api.spool;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * What every {@link DeliveryQueue} (with the {@link DeliveryItem}s it hands out) must do: leasing, completion, release,
 * retry times, suspension. Extend it, implement {@link #open()}, and the implementation is checked with one
 * {@code extends}; {@link DurableDeliveryQueueContract} adds what a crash must not change.
 *
 * <p>Nothing here sleeps: waits are on returned stages or conditions polled with a deadline.
 */
public abstract class DeliveryQueueContract {

    /** The queue under test, with the means to put mail into it and to hold destinations. */
    protected interface Subject extends AutoCloseable {

        DeliveryQueue queue();

        /** Queues a message (as {@link Spool#store}); returns its queue id once it is queued. */
        String store(Envelope envelope, byte[] content) throws Exception;

        /** As {@link QueueManager#suspend}. */
        boolean suspend(String domain);

        /** As {@link QueueManager#resume}. */
        boolean resume(String domain);

        /**
         * Queues a message with a route, held when {@code holdReason} is not null (as
         * {@link Spool#store(String, Envelope, org.hermod.api.routing.Route, String, byte[])}); returns its queue id
         * once it is queued. The route and hold tests of {@link DurableDeliveryQueueContract} need it.
         */
        default String store(Envelope envelope, org.hermod.api.routing.Route route, String holdReason, byte[] content)
                throws Exception {
            throw new UnsupportedOperationException("this subject cannot store a route or a hold");
        }

        /** As {@link QueueManager#hold}. */
        default boolean hold(String queueId, String reason) {
            throw new UnsupportedOperationException("this subject cannot hold mail");
        }

        /** As {@link QueueManager#releaseHold}. */
        default boolean releaseHold(String queueId) {
            throw new UnsupportedOperationException("this subject cannot hold mail");
        }
    }

    /** A new, empty queue. */
    protected abstract Subject open() throws Exception;

    /** How long a test waits for an outcome that must come. */
    protected static final Duration PATIENCE = Duration.ofSeconds(10);

    protected Subject subject;

    @Before
    public void openSubject() throws Exception {
        subject = open();
    }

    @After
    public void closeSubject() throws Exception {
        if (subject != null) {
            subject.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    protected static Envelope envelope(String sender, String... recipients) {
        List<Recipient> r = new ArrayList<>();
        for (String a : recipients) {
            r.add(Recipient.of(MailAddress.parse(a)));
        }
        return new Envelope(MailAddress.parse(sender), r, null, null, Envelope.BodyType.SEVEN_BIT, false, "client.test",
                "192.0.2.1", Instant.now());
    }

    protected static byte[] content(String subject) {
        return ("From: a@origin.test\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    protected static RecipientResult delivered(Recipient r) {
        return new RecipientResult(r, RecipientResult.Status.DELIVERED, SmtpReply.of(250, "2.0.0", "ok"), "mx.test");
    }

    protected static RecipientResult failed(Recipient r) {
        return new RecipientResult(r, RecipientResult.Status.FAILED, SmtpReply.of(550, "5.1.1", "no such user"), "mx.test");
    }

    protected static RecipientResult deferred(Recipient r) {
        return new RecipientResult(r, RecipientResult.Status.DEFERRED, SmtpReply.of(451, "4.7.1", "try later"), "mx.test");
    }

    protected static List<RecipientResult> all(DeliveryItem item, java.util.function.Function<Recipient, RecipientResult> f) {
        List<RecipientResult> out = new ArrayList<>();
        item.envelope().recipients().forEach(r -> out.add(f.apply(r)));
        return out;
    }

    protected static void await(java.util.concurrent.CompletionStage<?> stage) throws Exception {
        stage.toCompletableFuture().get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Polls until the condition holds or the deadline passes; fails with the message then. */
    protected static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        org.hermod.api.testing.Poll.until(what, PATIENCE, condition);
    }

    /** Leases from the domain until something comes, or fails at the deadline. */
    protected List<DeliveryItem> leaseEventually(String domain, int max) throws InterruptedException {
        List<List<DeliveryItem>> got = new ArrayList<>();
        eventually("an item of " + domain + " is leased", () -> {
            List<DeliveryItem> l = subject.queue().lease(domain, max);
            if (!l.isEmpty()) {
                got.add(l);
            }
            return !l.isEmpty();
        });
        return got.get(0);
    }

    // ------------------------------------------------------------------ the contract

    @Test
    public void storedMailIsReadyAndLeasedOnceWithItsEnvelopeAndContent() throws Exception {
        byte[] body = content("one");
        String id = subject.store(envelope("alice@origin.test", "bob@dest.test"), body);
        eventually("dest.test is ready", () -> subject.queue().readyDomains().contains("dest.test"));
        List<DeliveryItem> items = subject.queue().lease("dest.test", 10);
        assertEquals(1, items.size());
        DeliveryItem item = items.get(0);
        assertEquals(id, item.queueId());
        assertEquals("dest.test", item.domain());
        assertEquals("alice@origin.test", item.envelope().sender().toString());
        assertEquals(List.of("bob@dest.test"), addresses(item));
        assertArrayEquals(body, item.content());
        assertEquals(body.length, item.size());
        assertEquals(0, item.attempts());
        assertNull(item.lastAttempt());
        assertFalse(item.bounceRequested());
        assertTrue(item.isLeased());
        assertTrue("a leased item is not leased again", subject.queue().lease("dest.test", 10).isEmpty());
        assertFalse(subject.queue().readyDomains().contains("dest.test"));
    }

    @Test
    public void leaseTakesAtMostMaxOldestFirst() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(subject.store(envelope("alice@origin.test", "u" + i + "@dest.test"), content("m" + i)));
        }
        List<DeliveryItem> first = leaseEventually("dest.test", 2);
        assertEquals(2, first.size());
        assertEquals(ids.subList(0, 2), List.of(first.get(0).queueId(), first.get(1).queueId()));
        assertEquals(ids.get(2), subject.queue().lease("dest.test", 2).get(0).queueId());
    }

    @Test
    public void eachDestinationDomainIsLeasedSeparatelyWithItsOwnRecipients() throws Exception {
        subject.store(envelope("alice@origin.test", "a@one.test", "b@two.test", "c@one.test"), content("split"));
        List<DeliveryItem> one = leaseEventually("one.test", 10);
        List<DeliveryItem> two = leaseEventually("two.test", 10);
        assertEquals(List.of("a@one.test", "c@one.test"), addresses(one.get(0)));
        assertEquals(List.of("b@two.test"), addresses(two.get(0)));
        assertEquals(one.get(0).queueId(), two.get(0).queueId());
    }

    @Test
    public void deliveredAndFailedRecipientsAreFinal() throws Exception {
        subject.store(envelope("alice@origin.test", "ok@dest.test", "bad@dest.test"), content("final"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        List<RecipientResult> results = List.of(delivered(item.envelope().recipients().get(0)),
                failed(item.envelope().recipients().get(1)));
        await(item.complete(results, null));
        assertFalse(item.isLeased());
        assertTrue("nothing is left to deliver", subject.queue().lease("dest.test", 10).isEmpty());
        assertFalse(subject.queue().readyDomains().contains("dest.test"));
    }

    @Test
    public void deferredRecipientsComeBackAtTheirRetryTimeWithTheAttemptCounted() throws Exception {
        AtomicInteger wakeUps = new AtomicInteger();
        subject.queue().addReadyListener(wakeUps::incrementAndGet);
        subject.store(envelope("alice@origin.test", "ok@dest.test", "later@dest.test"), content("retry"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        Instant retryAt = Instant.now().plusMillis(500);
        Instant before = Instant.now();
        await(item.complete(List.of(delivered(item.envelope().recipients().get(0)),
                deferred(item.envelope().recipients().get(1))), retryAt));
        assertTrue("not before its retry time", subject.queue().lease("dest.test", 10).isEmpty()
                || Instant.now().isAfter(retryAt));
        int wakesBefore = wakeUps.get();
        DeliveryItem again = leaseEventually("dest.test", 10).get(0);
        assertFalse("leased again only at its retry time", Instant.now().isBefore(retryAt));
        assertTrue("the ready listener was told", wakeUps.get() > wakesBefore);
        assertEquals(List.of("later@dest.test"), addresses(again));
        assertEquals(1, again.attempts());
        assertNotNull(again.lastAttempt());
        assertFalse(again.lastAttempt().isBefore(before.minusMillis(1)));
    }

    @Test
    public void aDeferralNeedsARetryTime() throws Exception {
        subject.store(envelope("alice@origin.test", "later@dest.test"), content("no retry"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        try {
            item.complete(all(item, DeliveryQueueContract::deferred), null);
            fail("a deferral without a retry time is refused");
        } catch (IllegalArgumentException expected) {
            assertTrue("the lease is still held after a refused completion", item.isLeased());
        }
        assertTrue(item.release());
    }

    @Test
    public void recipientsLeftPendingNeedARetryTime() throws Exception {
        subject.store(envelope("alice@origin.test", "ok@dest.test", "unsaid@dest.test"), content("partial"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        try {
            item.complete(List.of(delivered(item.envelope().recipients().get(0))), null);
            fail("a recipient not mentioned stays pending: without a retry time it would spin");
        } catch (IllegalArgumentException expected) {
            assertTrue(item.isLeased());
        }
        await(item.complete(List.of(delivered(item.envelope().recipients().get(0))), Instant.now().plusSeconds(3600)));
        assertTrue("the other recipient waits for its retry time", subject.queue().lease("dest.test", 10).isEmpty());
    }

    @Test
    public void completeAndReleaseRacingEndTheLeaseExactlyOnce() throws Exception {
        for (int i = 0; i < 20; i++) {
            subject.store(envelope("alice@origin.test", "r" + i + "@race.test"), content("race" + i));
        }
        List<DeliveryItem> items = new ArrayList<>();
        eventually("20 items leased", () -> {
            items.addAll(subject.queue().lease("race.test", 20));
            return items.size() == 20;
        });
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            for (DeliveryItem item : items) {
                java.util.concurrent.Future<java.util.concurrent.CompletionStage<Void>> c = pool.submit(
                        () -> item.complete(all(item, DeliveryQueueContract::delivered), null));
                java.util.concurrent.Future<Boolean> r = pool.submit(item::release);
                boolean released = r.get(10, TimeUnit.SECONDS);
                java.util.concurrent.CompletableFuture<Void> stage = c.get(10, TimeUnit.SECONDS).toCompletableFuture();
                try {
                    stage.get(10, TimeUnit.SECONDS);
                    assertFalse("completed and released both won for " + item.queueId(), released);
                } catch (ExecutionException e) {
                    assertTrue("exactly one of them ends the lease", released);
                    assertTrue(e.getCause() instanceof IllegalStateException);
                }
                assertFalse(item.isLeased());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void releaseGivesTheItemBackUnchangedAndEndsTheLeaseOnce() throws Exception {
        subject.store(envelope("alice@origin.test", "bob@dest.test"), content("release"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        assertTrue(item.release());
        assertFalse(item.isLeased());
        assertFalse("a second release does nothing", item.release());
        try {
            await(item.complete(all(item, DeliveryQueueContract::delivered), null));
            fail("completing a released lease must fail");
        } catch (ExecutionException e) {
            assertTrue(e.getCause() instanceof IllegalStateException);
        }
        DeliveryItem again = leaseEventually("dest.test", 1).get(0);
        assertEquals(item.queueId(), again.queueId());
        assertEquals("a release counts no attempt", 0, again.attempts());
        assertEquals(List.of("bob@dest.test"), addresses(again));
    }

    @Test
    public void aLeaseEndsOnceAndASecondCompletionChangesNothing() throws Exception {
        subject.store(envelope("alice@origin.test", "later@dest.test"), content("twice"));
        DeliveryItem item = leaseEventually("dest.test", 1).get(0);
        await(item.complete(all(item, DeliveryQueueContract::deferred), Instant.now().plusSeconds(3600)));
        try {
            await(item.complete(all(item, DeliveryQueueContract::delivered), null));
            fail("a second completion must fail");
        } catch (ExecutionException e) {
            assertTrue(e.getCause() instanceof IllegalStateException);
        }
        assertFalse("the release after completion does nothing", item.release());
        assertTrue("still deferred, not delivered and not due", subject.queue().lease("dest.test", 10).isEmpty());
    }

    @Test
    public void aSuspendedDomainHoldsItsMailUntilResumed() throws Exception {
        assertTrue(subject.suspend("held.test"));
        assertFalse("suspending twice reports it", subject.suspend("held.test"));
        subject.store(envelope("alice@origin.test", "x@held.test"), content("held"));
        subject.store(envelope("alice@origin.test", "y@free.test"), content("free"));
        leaseEventually("free.test", 1); // the other domain flows meanwhile
        assertFalse(subject.queue().readyDomains().contains("held.test"));
        assertTrue(subject.queue().lease("held.test", 10).isEmpty());
        assertTrue(subject.resume("held.test"));
        assertEquals(List.of("x@held.test"), addresses(leaseEventually("held.test", 10).get(0)));
    }

    @Test
    public void leasingAnEmptyOrUnknownDomainGivesNothing() throws Exception {
        assertTrue(subject.queue().lease("nowhere.test", 10).isEmpty());
        assertTrue(subject.queue().readyDomains().isEmpty());
    }

    protected static List<String> addresses(DeliveryItem item) {
        List<String> out = new ArrayList<>();
        item.envelope().recipients().forEach(r -> out.add(r.address().toString()));
        return out;
    }

    /** Unwraps a stage failure for asserts. */
    protected static Throwable cause(Throwable t) {
        return (t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null
                ? t.getCause() : t;
    }
}
