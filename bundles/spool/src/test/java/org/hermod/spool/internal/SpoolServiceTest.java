package org.hermod.spool.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DomainSummary;
import org.hermod.api.spool.MessageInfo;
import org.hermod.api.spool.RecipientResult;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The spool on a real directory: durability across reopen, transactional leases, torn tails, compaction. */
public class SpoolServiceTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path dir;
    private SpoolService spool;

    @Before
    public void open() throws Exception {
        dir = tmp.newFolder("spool").toPath();
        spool = SpoolService.open(dir, 1 << 20);
    }

    @After
    public void close() throws Exception {
        spool.close();
    }

    private static Envelope env(String... rcpts) {
        List<Recipient> r = new ArrayList<>();
        for (String s : rcpts) {
            r.add(Recipient.of(MailAddress.parse(s)));
        }
        return new Envelope(MailAddress.parse("from@sender.test"), r, null, null, null, false, "c", "127.0.0.1", Instant.now());
    }

    private String store(Envelope e, String body) throws Exception {
        return spool.store(e, body.getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
    }

    private void reopen() throws Exception {
        spool.close();
        spool = SpoolService.open(dir, 1 << 20);
    }

    @Test
    public void acceptedMessagesSurviveAReopenWithTheirContent() throws Exception {
        String a = store(env("x@a.test", "y@b.test"), "Subject: 1\r\n\r\nhello \u00e9\r\n");
        String b = store(env("z@a.test"), "Subject: 2\r\n\r\nbye\r\n");
        reopen();
        List<DomainSummary> s = spool.summaries();
        assertEquals(2, s.size());
        assertEquals("a.test", s.get(0).domain());
        assertEquals(2, s.get(0).messages());
        List<DeliveryItem> items = spool.lease("a.test", 10);
        assertEquals(List.of(a, b), items.stream().map(DeliveryItem::queueId).toList());
        assertArrayEquals("Subject: 1\r\n\r\nhello \u00e9\r\n".getBytes(StandardCharsets.UTF_8), items.get(0).content());
        assertEquals(List.of("x@a.test"), items.get(0).envelope().recipients().stream().map(r -> r.address().toString()).toList());
    }

    @Test
    public void contentReadsTheSameFromMemoryRightAfterStoreAndFromTheJournalAfterwards() throws Exception {
        String body = "Subject: big\r\n\r\n" + "0123456789abcdef".repeat(8 * 1024) + "\r\n";
        String a = store(env("x@a.test"), body);
        String b = store(env("z@a.test"), "Subject: 2\r\n\r\nbye\r\n");
        List<DeliveryItem> items = spool.lease("a.test", 10);
        assertEquals(List.of(a, b), items.stream().map(DeliveryItem::queueId).toList());
        byte[] expected = body.getBytes(StandardCharsets.UTF_8);
        assertArrayEquals("first read: the content kept since the store", expected, items.get(0).content());
        assertArrayEquals("second read: the journal", expected, items.get(0).content());
        assertNull("taken: no longer at hand without I/O", items.get(0).contentInMemory());
        assertArrayEquals("at hand without I/O, once", "Subject: 2\r\n\r\nbye\r\n".getBytes(StandardCharsets.UTF_8),
                items.get(1).contentInMemory());
        assertNull(items.get(1).contentInMemory());
        assertArrayEquals("then from the journal", "Subject: 2\r\n\r\nbye\r\n".getBytes(StandardCharsets.UTF_8),
                items.get(1).content());
    }

    @Test
    public void deliveredRecipientsAreNeverLeasedAgainAfterRestart() throws Exception {
        String id = store(env("x@a.test", "y@a.test"), "m\r\n");
        DeliveryItem it = spool.lease("a.test", 1).get(0);
        Recipient x = it.envelope().recipients().get(0);
        Recipient y = it.envelope().recipients().get(1);
        it.complete(List.of(new RecipientResult(x, RecipientResult.Status.DELIVERED, SmtpReply.of(250, "2.0.0", "ok"), "mx"),
                new RecipientResult(y, RecipientResult.Status.DEFERRED, SmtpReply.of(451, "4.3.0", "later"), "mx")),
                Instant.now().plusSeconds(3600)).toCompletableFuture().get(10, TimeUnit.SECONDS); // durable now
        assertTrue("deferred: not ready", spool.lease("a.test", 1).isEmpty());
        reopen();
        assertTrue("still deferred after restart", spool.lease("a.test", 1).isEmpty());
        DomainSummary s = spool.summaries().get(0);
        assertEquals(1, s.deferred());
        assertTrue(s.nextAttempt().isAfter(Instant.now().plusSeconds(3000)));
        assertEquals(1, spool.flush("a.test"));
        DeliveryItem again = spool.lease("a.test", 1).get(0);
        assertEquals(id, again.queueId());
        assertEquals(1, again.attempts());
        assertEquals(List.of("y@a.test"), again.envelope().recipients().stream().map(r -> r.address().toString()).toList());
        again.complete(List.of(new RecipientResult(again.envelope().recipients().get(0), RecipientResult.Status.DELIVERED,
                null, null)), null).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue("the outcome is in the index once its stage completes", spool.summaries().isEmpty());
        reopen();
        assertTrue(spool.summaries().isEmpty());
        assertTrue(spool.message(id).isEmpty());
    }

    @Test
    public void anUnfinishedLeaseComesBackAfterACrash() throws Exception {
        String id = store(env("x@a.test"), "m\r\n");
        assertEquals(1, spool.lease("a.test", 5).size()); // leased, delivery "crashes"
        reopen();
        List<DeliveryItem> items = spool.lease("a.test", 5);
        assertEquals(1, items.size());
        assertEquals(id, items.get(0).queueId());
    }

    @Test
    public void aTornTailIsCutOffAndEarlierMessagesStay() throws Exception {
        String id = store(env("x@a.test"), "first\r\n");
        spool.close();
        Path seg;
        try (Stream<Path> s = Files.list(dir)) {
            seg = s.filter(p -> p.toString().endsWith(".seg")).sorted().reduce((p, q) -> q).orElseThrow();
        }
        long good = Files.size(seg);
        // half a record, as if the process died in the middle of a write that was never acknowledged
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.APPEND)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x48, 0x4D, 0x52, 0x31, 1, 0, 0, 1, 0, 9, 9}));
        }
        spool = SpoolService.open(dir, 1 << 20);
        assertEquals(good, Files.size(seg));
        assertEquals(id, spool.lease("a.test", 5).get(0).queueId());
    }

    @Test
    public void operatorDeleteBounceSuspendAndResume() throws Exception {
        String a = store(env("x@a.test"), "m\r\n");
        String b = store(env("y@b.test", "z@a.test"), "m\r\n");
        assertTrue(spool.suspend("a.test"));
        assertFalse(spool.readyDomains().contains("a.test"));
        assertTrue(spool.lease("a.test", 5).isEmpty());
        assertTrue(spool.resume("a.test"));
        assertTrue(spool.readyDomains().contains("a.test"));
        assertTrue(spool.delete(a));
        assertTrue(spool.bounce(b));
        DeliveryItem it = spool.lease("b.test", 5).get(0);
        assertTrue(it.bounceRequested());
        it.release();
        assertEquals(1, spool.deleteDomain("a.test")); // durable when it returns
        reopen();
        assertTrue(spool.message(a).isEmpty());
        assertEquals(List.of("b.test"), spool.summaries().stream().map(DomainSummary::domain).toList());
        assertEquals(MessageInfo.State.FAILED, spool.message(b).get().recipients().get(1).state());
    }

    @Test
    public void groupCommitAcceptsManyConcurrentMessagesAndCompactionReclaimsSegments() throws Exception {
        List<CompletableFuture<String>> fs = new ArrayList<>();
        byte[] body = new byte[2048];
        java.util.Arrays.fill(body, (byte) 'x');
        for (int i = 0; i < 2000; i++) {
            fs.add(spool.store(env("r" + i + "@c.test"), body));
        }
        for (CompletableFuture<String> f : fs) {
            f.get(30, TimeUnit.SECONDS);
        }
        int segments;
        try (Stream<Path> s = Files.list(dir)) {
            segments = (int) s.filter(p -> p.toString().endsWith(".seg")).count();
        }
        assertTrue("2000 x 2 KB over 1 MiB segments: " + segments, segments >= 4);
        List<DeliveryItem> items = spool.lease("c.test", 5000);
        assertEquals(2000, items.size());
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (DeliveryItem it : items) {
            done.add(it.complete(List.of(new RecipientResult(it.envelope().recipients().get(0),
                    RecipientResult.Status.DELIVERED, null, null)), null).toCompletableFuture());
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        spool.compact();
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals("only the active segment is left", 1, s.filter(p -> p.toString().endsWith(".seg")).count());
        }
    }

    /** Stores {@code n} 2 KB messages to c.test and delivers them all (they fill segments that compaction may drop). */
    private void filler(int n) throws Exception {
        byte[] body = new byte[2048];
        java.util.Arrays.fill(body, (byte) 'x');
        List<CompletableFuture<String>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.add(spool.store(env("f" + i + "@c.test"), body));
        }
        for (CompletableFuture<String> f : fs) {
            f.get(30, TimeUnit.SECONDS);
        }
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (DeliveryItem it : spool.lease("c.test", n)) {
            done.add(it.complete(List.of(new RecipientResult(it.envelope().recipients().get(0),
                    RecipientResult.Status.DELIVERED, null, null)), null).toCompletableFuture());
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    @Test
    public void compactionKeepsTheLaterSegmentsOfAnOldMessageItCouldNotCopy() throws Exception {
        String id = spool.store(new Envelope(MailAddress.parse("s@o.test"), List.of(
                Recipient.of(MailAddress.parse("one@d.test")), Recipient.of(MailAddress.parse("two@d.test"))), null, null,
                Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.now()), "old\r\n".getBytes())
                .get(30, TimeUnit.SECONDS);
        filler(2000);
        // one recipient delivered, the other deferred: the state record lands in a later segment
        DeliveryItem first = spool.lease("d.test", 1).get(0);
        first.complete(List.of(new RecipientResult(first.envelope().recipients().get(0), RecipientResult.Status.DELIVERED,
                null, null)), Instant.now()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        filler(2500);
        // leased during compaction: its segment cannot be emptied by copying it forward
        DeliveryItem again = null;
        for (int i = 0; i < 100 && again == null; i++) {
            List<DeliveryItem> l = spool.lease("d.test", 1);
            if (l.isEmpty()) {
                Thread.sleep(20);
            } else {
                again = l.get(0);
            }
        }
        assertEquals("only the deferred recipient is pending", List.of("two@d.test"),
                again.envelope().recipients().stream().map(r -> r.address().toString()).toList());
        spool.compact();
        again.release();
        reopen();
        MessageInfo m = spool.message(id).orElseThrow();
        assertEquals("the delivered recipient stays delivered after compaction and a restart", MessageInfo.State.DELIVERED,
                m.recipients().get(0).state());
        List<DeliveryItem> after = spool.lease("d.test", 5);
        assertEquals(1, after.size());
        assertEquals(List.of("two@d.test"),
                after.get(0).envelope().recipients().stream().map(r -> r.address().toString()).toList());
    }

    @Test
    public void messagesAreCountedBySenderDomainForThePoolView() throws Exception {
        store(new Envelope(MailAddress.parse("a@news.example"), List.of(Recipient.of(MailAddress.parse("x@a.test"))), null,
                null, Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.now()), "m\r\n");
        store(new Envelope(MailAddress.parse("b@news.example"), List.of(Recipient.of(MailAddress.parse("y@b.test"))), null,
                null, Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.now()), "m\r\n");
        store(new Envelope(MailAddress.NULL_SENDER, List.of(Recipient.of(MailAddress.parse("z@c.test"))), null, null,
                Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.now()), "m\r\n");
        assertEquals(java.util.Map.of("news.example", 2, "", 1), spool.messagesBySenderDomain());
        assertEquals("most first", "news.example", spool.messagesBySenderDomain().keySet().iterator().next());
    }
}
