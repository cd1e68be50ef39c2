package org.hermod.spool.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.RecipientResult;
import org.hermod.api.spool.SpoolFullException;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The spool when its file system fills: the free-space floor, a write failing with ENOSPC, and recovery. */
public class SpoolDiskFullTest {

    private static final long MIB = 1024 * 1024;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final AtomicLong free = new AtomicLong(1024 * MIB);
    private SpaceGuard guard;
    private Path dir;
    private SpoolService spool;

    @Before
    public void open() throws Exception {
        dir = tmp.newFolder().toPath();
        guard = new SpaceGuard(free::get, 100 * MIB, "test");
        spool = SpoolService.open(dir, 1 << 20, TimeUnit.HOURS.toMillis(1), guard);
    }

    @After
    public void close() throws Exception {
        spool.close();
    }

    private static Envelope env(String rcpt) {
        return new Envelope(MailAddress.parse("from@sender.test"), List.of(Recipient.of(MailAddress.parse(rcpt))), null,
                null, Envelope.BodyType.SEVEN_BIT, false, "c", "127.0.0.1", Instant.now());
    }

    private String store(String rcpt) throws Exception {
        return spool.store(env(rcpt), ("Subject: " + rcpt + "\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII))
                .get(10, TimeUnit.SECONDS);
    }

    private void assertRefusedAsFull(String rcpt) throws Exception {
        try {
            store(rcpt);
            fail("a message is accepted although the spool is full");
        } catch (ExecutionException e) {
            assertTrue("refused as full (452 4.3.1), not as a write error: " + e.getCause(),
                    e.getCause() instanceof SpoolFullException);
        }
    }

    private void reopen() throws Exception {
        spool.close();
        spool = SpoolService.open(dir, 1 << 20, TimeUnit.HOURS.toMillis(1), guard);
    }

    @Test
    public void belowTheFloorNewMailIsRefusedWhileOutcomesAreStillWrittenAndAcceptanceResumesWithSpace()
            throws Exception {
        String queued = store("a@d.test");
        DeliveryItem item = spool.lease("d.test", 1).get(0);

        free.set(99 * MIB);
        guard.read(); // what the once-a-second refresh does
        assertRefusedAsFull("b@d.test");
        item.complete(List.of(new RecipientResult(item.envelope().recipients().get(0), RecipientResult.Status.DELIVERED,
                SmtpReply.of(250, "2.0.0", "ok"), "mx")), null).toCompletableFuture().get(10, TimeUnit.SECONDS);

        free.set(1024 * MIB);
        guard.read();
        String later = store("c@d.test");
        reopen();
        assertTrue("the delivered message is not delivered again", spool.message(queued).isEmpty());
        assertEquals(List.of(later), spool.queueIds(null, 10));
    }

    @Test
    public void theFloorCountsTheMessageBeingAccepted() throws Exception {
        free.set(100 * MIB + 4096);
        guard.read();
        store("small@d.test");
        byte[] big = new byte[8192];
        try {
            spool.store(env("big@d.test"), big).get(10, TimeUnit.SECONDS);
            fail("a message that would take the file system below the floor is accepted");
        } catch (ExecutionException e) {
            assertTrue(e.getCause() instanceof SpoolFullException);
        }
    }

    @Test
    public void aWriteFailingForLackOfSpaceLeavesNoRecordBehindAndLaterWritesReplayCleanly() throws Exception {
        String before = store("a@d.test");
        spool.journal().failNextWrite = new IOException("No space left on device");
        assertRefusedAsFull("refused@d.test");
        String after = store("c@d.test");
        reopen();
        assertEquals("the refused message is not queued, the others are", List.of(before, after),
                spool.queueIds(null, 10));
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue("replay found nothing torn to cut off",
                    files.noneMatch(f -> f.getFileName().toString().contains(".corrupt")));
        }
        for (DeliveryItem i : spool.lease("d.test", 10)) {
            assertTrue(new String(i.content(), StandardCharsets.US_ASCII).startsWith("Subject: "));
        }
    }

    @Test
    public void anotherWriteErrorFailsTheMessageWithoutCallingItFull() throws Exception {
        spool.journal().failNextWrite = new IOException("Input/output error");
        try {
            store("x@d.test");
            fail("accepted although its write failed");
        } catch (ExecutionException e) {
            assertTrue("an I/O error is not a full disk (451, not 452): " + e.getCause(),
                    !(e.getCause() instanceof SpoolFullException));
        }
        store("y@d.test");
        reopen();
        assertEquals(1, spool.queueIds(null, 10).size());
    }

    @Test
    public void whenABatchFailsForLackOfSpaceItsOutcomesAreStillWrittenAndItsMessagesRefused() throws Exception {
        String queued = store("a@d.test");
        DeliveryItem item = spool.lease("d.test", 1).get(0);
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        spool.journal().holdBatch = hold;
        java.util.concurrent.CompletableFuture<String> refused = spool.store(env("b@d.test"),
                "Subject: b\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        java.util.concurrent.CompletableFuture<Void> outcome = item.complete(List.of(new RecipientResult(
                item.envelope().recipients().get(0), RecipientResult.Status.DELIVERED, SmtpReply.of(250, "2.0.0", "ok"),
                "mx")), null).toCompletableFuture();
        spool.journal().failNextWrite = new IOException("No space left on device");
        spool.journal().holdBatch = null;
        hold.countDown(); // the message and the outcome go out in one batch, which fails

        outcome.get(10, TimeUnit.SECONDS); // written on the second try, without the message
        try {
            refused.get(10, TimeUnit.SECONDS);
            fail("the message of the failed batch is accepted");
        } catch (ExecutionException e) {
            assertTrue(String.valueOf(e.getCause()), e.getCause() instanceof SpoolFullException);
        }
        reopen();
        assertTrue("the delivery's outcome survived: not delivered again", spool.message(queued).isEmpty());
        assertTrue("the refused message is not queued", spool.queueIds(null, 10).isEmpty());
    }

    @Test
    public void aDeliveryWhoseOutcomeCannotBeWrittenIsNotLeasedAgainAtOnce() throws Exception {
        String queued = store("a@d.test");
        store("b@e.test");
        DeliveryItem item = spool.lease("d.test", 1).get(0);
        spool.journal().failNextWrite = new IOException("Read-only file system");
        try {
            item.complete(List.of(new RecipientResult(item.envelope().recipients().get(0),
                    RecipientResult.Status.DELIVERED, SmtpReply.of(250, "2.0.0", "ok"), "mx")), null)
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            fail("the outcome counts as recorded although its write failed");
        } catch (ExecutionException expected) {
            // the delivery will be repeated (at-least-once), but not at once
        }
        assertTrue("the delivered message is not handed out again at once", spool.lease("d.test", 10).isEmpty());
        assertTrue("while the journal is failing nothing else is leased either", spool.lease("e.test", 10).isEmpty());

        store("c@d.test"); // a write succeeds again: leases resume
        assertEquals("other mail flows again", 1, spool.lease("e.test", 10).size());
        List<DeliveryItem> d = spool.lease("d.test", 10);
        assertEquals("the message whose outcome was lost waits its backoff", 1, d.size());
        assertTrue(!d.get(0).queueId().equals(queued));
        assertTrue("it is still queued, to be delivered again later", spool.message(queued).isPresent());
    }

    @Test
    public void anOperatorHoldOrDeleteWhoseWriteFailsLeavesTheMessageAsItWas() throws Exception {
        String id = store("a@d.test");
        spool.journal().failNextWrite = new IOException("Input/output error");
        try {
            spool.hold(id, "spam?");
            fail("the hold counts as done although its write failed");
        } catch (RuntimeException expected) {
            // the operator sees the failure
        }
        assertTrue("not shown as held", spool.held(10).isEmpty());
        spool.journal().failNextWrite = new IOException("Input/output error");
        try {
            spool.delete(id);
            fail("the delete counts as done although its write failed");
        } catch (RuntimeException expected) {
            // the operator sees the failure
        }
        assertTrue("still queued, as after a restart", spool.message(id).isPresent());
        assertEquals("and still delivered", 1, spool.lease("d.test", 10).size());
    }

    @Test
    public void aHoldReasonOver64KbIsStoredCutShortAndSurvivesARestart() throws Exception {
        String reason = "r".repeat(70_000);
        String id = spool.store(spool.newQueueId(), env("a@d.test"), org.hermod.api.routing.Route.DEFAULT, reason,
                "Subject: a\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
        reopen();
        assertEquals("still held after a restart", List.of(id), spool.held(10));
    }

    @Test
    public void bytesAppendedWhileTheFreeSpaceIsReadStayCounted() {
        SpaceGuard[] g = new SpaceGuard[1];
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        SpaceGuard space = new SpaceGuard(() -> {
            if (armed.get()) {
                g[0].appended(10 * MIB); // a batch written while the file system is asked
            }
            return 105 * MIB;
        }, 100 * MIB, "test");
        g[0] = space;
        armed.set(true);
        space.read();
        assertTrue("105 MiB free less the 10 MiB the read may not have seen is below the 100 MiB floor",
                space.admit(1) != null);
    }
}
