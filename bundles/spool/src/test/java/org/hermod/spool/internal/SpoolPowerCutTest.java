package org.hermod.spool.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.spool.DeliveryItem;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A power cut can persist the pages of the last, never-fsynced batch in any order, leaving damage in the middle of it
 * with valid records of the same batch after the damage (docs/operations/recovery.md). The spool opens over that,
 * losing only unacknowledged records; damage to an acknowledged batch, or to a segment without batch records, still
 * refuses it. The power cut is simulated by taking the segment's bytes while the spool runs (a power cut runs no
 * close) and putting them back, damaged, after it is closed.
 */
public class SpoolPowerCutTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static Envelope env(String rcpt) {
        return new Envelope(MailAddress.parse("from@sender.test"), List.of(Recipient.of(MailAddress.parse(rcpt))), null,
                null, Envelope.BodyType.SEVEN_BIT, false, "c", "127.0.0.1", Instant.now());
    }

    private static byte[] body(String subject) {
        return ("Subject: " + subject + "\r\n\r\n" + "body".repeat(50) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** A message of about 10 KB: its record holds whole disk pages, which a power cut loses whole. */
    private static byte[] big(String subject) {
        return ("Subject: " + subject + "\r\n\r\n" + "long body line\r\n".repeat(640)).getBytes(StandardCharsets.US_ASCII);
    }

    /** The first 4 KiB page, aligned in the file, that lies wholly inside the record. */
    private static int[] pageInside(Rec r) {
        int from = (r.offset() + 4095) / 4096 * 4096;
        assertTrue("the record holds a whole page", from + 4096 <= r.end());
        return new int[] {from, from + 4096};
    }

    /** A record as found in a segment. */
    private record Rec(int offset, byte type, int length) {
        int end() {
            return offset + RecordCodec.HEADER + length + RecordCodec.TRAILER;
        }
    }

    private static List<Rec> records(byte[] seg) {
        ByteBuffer b = ByteBuffer.wrap(seg);
        List<Rec> out = new ArrayList<>();
        int at = 0;
        while (at < seg.length) {
            assertEquals(RecordCodec.MAGIC, b.getInt(at));
            Rec r = new Rec(at, b.get(at + 4), b.getInt(at + 5));
            out.add(r);
            at = r.end();
        }
        return out;
    }

    private static List<Path> segments(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
        }
    }

    private static Path newestWithRecords(Path dir) throws IOException {
        Path last = null;
        for (Path p : segments(dir)) {
            if (Files.size(p) > 0) {
                last = p;
            }
        }
        return last;
    }

    private static boolean hasCorruptCopy(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.toString().contains(".corrupt-"));
        }
    }

    /** Stores messages one batch each, waiting for each 250 (fsync) before the next. */
    private static List<String> storeEach(SpoolService spool, String... rcpts) throws Exception {
        List<String> ids = new ArrayList<>();
        for (String r : rcpts) {
            ids.add(spool.store(env(r), body(r)).get(10, TimeUnit.SECONDS));
        }
        return ids;
    }

    /** Stores messages in one batch (one write, one fsync) and waits until it is acknowledged. */
    private static List<String> storeInOneBatch(SpoolService spool, String... rcpts) throws Exception {
        return storeInOneBatch(spool, false, rcpts);
    }

    private static List<String> storeInOneBatch(SpoolService spool, boolean big, String... rcpts) throws Exception {
        CountDownLatch hold = new CountDownLatch(1);
        spool.journal().holdBatch = hold;
        List<CompletableFuture<String>> futures = new ArrayList<>();
        for (String r : rcpts) {
            futures.add(spool.store(env(r), big ? big(r) : body(r)));
        }
        spool.journal().holdBatch = null;
        hold.countDown();
        List<String> ids = new ArrayList<>();
        for (CompletableFuture<String> f : futures) {
            ids.add(f.get(10, TimeUnit.SECONDS));
        }
        return ids;
    }

    /**
     * The records of the batch starting at {@code from}: its batch record (whose extent must cover exactly the records
     * after it up to the next batch record, so the test builds what it claims), then its records.
     */
    private static List<Rec> batchAt(byte[] seg, int from, int records) {
        List<Rec> all = records(seg);
        int i = 0;
        while (all.get(i).offset() != from) {
            i++;
        }
        Rec head = all.get(i);
        assertEquals("a batch begins with its batch record", RecordCodec.BATCH, head.type());
        List<Rec> batch = all.subList(i, i + 1 + records);
        long extent = ByteBuffer.wrap(seg).getLong(head.offset() + RecordCodec.HEADER + 12);
        assertEquals("the batch record spans exactly the batch's " + records + " records",
                batch.get(records).end() - head.end(), extent);
        return batch;
    }

    private static void zero(byte[] b, int from, int to) {
        Arrays.fill(b, from, to, (byte) 0);
    }

    @Test
    public void aPowerCutThatTearsTheMiddleOfTheUnacknowledgedLastBatchOpensTheSpoolWithEveryAcknowledgedMessage()
            throws Exception {
        Path dir = tmp.newFolder().toPath();
        SpoolService spool = SpoolService.open(dir, 1 << 20);
        List<String> acked;
        byte[] atPowerCut;
        int lastBatch;
        Path seg;
        try {
            acked = new ArrayList<>(storeEach(spool, "a@d.test", "b@d.test"));
            acked.addAll(storeInOneBatch(spool, "c@d.test", "d@d.test"));
            seg = newestWithRecords(dir);
            lastBatch = (int) Files.size(seg);
            // the last batch: its futures complete (they would not at a real power cut: the fsync never returns)
            storeInOneBatch(spool, true, "e@d.test", "f@d.test", "g@d.test");
            atPowerCut = Files.readAllBytes(seg);
        } finally {
            spool.close();
        }
        List<Rec> batch = batchAt(atPowerCut, lastBatch, 3);
        batchAt(atPowerCut, records(atPowerCut).get(0).offset(), 1); // earlier batches have their batch records too
        // pages of the batch persisted out of order: a page of the second message never reached the disk (it reads
        // as zeros), the third message's pages did
        byte[] damaged = atPowerCut.clone();
        int[] page = pageInside(batch.get(2));
        zero(damaged, page[0], page[1]);
        Files.write(seg, damaged);
        assertTrue("a valid record of the same batch follows the damage (the old rule refused this)",
                Journal.nextValidRecord(seg, batch.get(2).offset()) == batch.get(3).offset());

        spool = SpoolService.open(dir, 1 << 20);
        try {
            List<String> queued = spool.queueIds(null, 100);
            assertEquals("every acknowledged message is there", acked, queued.subList(0, acked.size()));
            // the rule: cut at the damaged record; what the batch wrote before it stays (no client got a 250 for it,
            // a resend may deliver it twice, never lose it), the damaged record and all after it are gone
            assertEquals("the torn batch's records from the damage on are gone", acked.size() + 1, queued.size());
            assertEquals(batch.get(2).offset(), Files.size(seg));
            assertTrue("a copy of the damaged segment is kept", hasCorruptCopy(dir));

            String fresh = spool.store(env("h@d.test"), body("fresh")).get(10, TimeUnit.SECONDS);
            List<DeliveryItem> items = spool.lease("d.test", 100);
            assertEquals(acked.size() + 2, items.size());
            assertEquals(fresh, items.get(items.size() - 1).queueId());
            assertArrayEquals("new mail is stored and read back", body("fresh"), items.get(items.size() - 1).content());
            assertArrayEquals(body("a@d.test"), items.get(0).content());
            assertArrayEquals(body("d@d.test"), items.get(3).content());
            for (DeliveryItem i : items) {
                i.release();
            }
        } finally {
            spool.close();
        }
        spool = SpoolService.open(dir, 1 << 20);
        try {
            assertEquals("and it all survives the next restart", acked.size() + 2, spool.queueIds(null, 100).size());
        } finally {
            spool.close();
        }
    }

    @Test
    public void garbledBytesInTheLastBatchAreNotTakenForAPowerCutAndRefuseToOpen() throws Exception {
        // a bad block or a flash page garbled while being rewritten leaves other bytes than a write that never reached
        // the disk: the batch may have been acknowledged, so nothing is cut
        Path dir = tmp.newFolder().toPath();
        SpoolService spool = SpoolService.open(dir, 1 << 20);
        byte[] written;
        int lastBatch;
        Path seg;
        try {
            storeEach(spool, "a@d.test");
            seg = newestWithRecords(dir);
            lastBatch = (int) Files.size(seg);
            storeInOneBatch(spool, true, "e@d.test", "f@d.test", "g@d.test");
            written = Files.readAllBytes(seg);
        } finally {
            spool.close();
        }
        List<Rec> batch = batchAt(written, lastBatch, 3);
        byte[] damaged = written.clone();
        int[] page = pageInside(batch.get(2));
        java.util.Random rnd = new java.util.Random(7);
        for (int i = page[0]; i < page[1]; i++) {
            damaged[i] = (byte) (1 + rnd.nextInt(255)); // never a zero sector
        }
        Files.write(seg, damaged);
        assertRefused(new Written(dir, seg, lastBatch, damaged), 1 << 20, batch.get(2).offset(),
                "garbled bytes inside the last batch were cut as if a power cut had lost them");
    }

    private interface Then {
        void run(SpoolService spool) throws Exception;
    }

    /** A closed spool: its first segment with records, where the batch begins, the segment as it was before close. */
    private record Written(Path dir, Path seg, int batch, byte[] beforeClose) {
    }

    /** Stores one message, then {@code batch} in one batch, then whatever {@code then} does, and closes the spool. */
    private Written oneThenBatch(long segmentSize, List<String> batch, Then then) throws Exception {
        Path dir = tmp.newFolder().toPath();
        SpoolService spool = SpoolService.open(dir, segmentSize);
        try {
            storeEach(spool, "a@d.test");
            Path seg = newestWithRecords(dir);
            int at = (int) Files.size(seg);
            storeInOneBatch(spool, batch.toArray(String[]::new));
            byte[] beforeClose = Files.readAllBytes(seg);
            then.run(spool);
            return new Written(dir, seg, at, beforeClose);
        } finally {
            spool.close();
        }
    }

    /** The spool refuses to open, naming the segment and offset, and changes nothing on disk. */
    private static void assertRefused(Written w, long segmentSize, long offset, String why) throws IOException {
        byte[] before = Files.readAllBytes(w.seg());
        try {
            SpoolService.open(w.dir(), segmentSize).close();
            fail(why);
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("offset " + offset));
            assertTrue(e.getMessage(), e.getMessage().contains("NOT opened"));
            assertTrue(e.getMessage(), e.getMessage().contains(w.seg().toString()));
        }
        assertArrayEquals("nothing on disk was changed", before, Files.readAllBytes(w.seg()));
        assertFalse(hasCorruptCopy(w.dir()));
    }

    @Test
    public void damageInTheMiddleOfAnAcknowledgedBatchFollowedByALaterBatchStillRefusesToOpen() throws Exception {
        // a later batch: the one before it was fsynced and acknowledged
        Written w = oneThenBatch(1 << 20, List.of("b@d.test", "c@d.test", "d@d.test"), s -> storeEach(s, "e@d.test"));
        byte[] bytes = Files.readAllBytes(w.seg());
        List<Rec> batch = batchAt(bytes, w.batch(), 3);
        zero(bytes, batch.get(2).offset() + 20, batch.get(2).end() - 10);
        // without the clean-close mark: the later batch alone proves this one was acknowledged
        Files.write(w.seg(), Arrays.copyOf(bytes, bytes.length - RecordCodec.BATCH_RECORD));
        assertRefused(w, 1 << 20, batch.get(2).offset(), "the spool opened over damage to an acknowledged batch");
    }

    @Test
    public void damageInTheLastBatchAfterACleanCloseRefusesToOpen() throws Exception {
        Written w = oneThenBatch(1 << 20, List.of("b@d.test", "c@d.test", "d@d.test"), s -> { });
        byte[] bytes = Files.readAllBytes(w.seg());
        List<Rec> batch = batchAt(bytes, w.batch(), 3);
        List<Rec> all = records(bytes);
        assertEquals("the clean close is marked by an empty batch record after the batch",
                List.of(batch.get(3).end(), RecordCodec.BATCH, 0),
                List.of(all.get(all.size() - 1).offset(), all.get(all.size() - 1).type(),
                        (int) ByteBuffer.wrap(bytes).getLong(batch.get(3).end() + RecordCodec.HEADER + 12)));
        zero(bytes, batch.get(2).offset() + 20, batch.get(2).end() - 10);
        Files.write(w.seg(), bytes);
        assertRefused(w, 1 << 20, batch.get(2).offset(),
                "the spool opened over damage to a batch acknowledged before a clean close");
        // a clean-close mark cut short (the power failed during the close) still says the batch was acknowledged
        Files.write(w.seg(), Arrays.copyOf(bytes, batch.get(3).end() + 5));
        assertRefused(w, 1 << 20, batch.get(2).offset(),
                "the spool opened over damage to a batch followed by part of a clean-close mark");
    }

    @Test
    public void damageInTheLastBatchOfAnOlderSegmentRefusesToOpen() throws Exception {
        // a batch goes to a new segment only after the previous one is fsynced: a torn batch is only in the newest
        Written w = oneThenBatch(2048, List.of("b@d.test", "c@d.test", "d@d.test"), s -> {
            s.store(env("e@d.test"), ("Subject: big\r\n\r\n" + "x".repeat(1500)).getBytes(StandardCharsets.US_ASCII))
                    .get(10, TimeUnit.SECONDS);
        });
        assertTrue("the next batch went to a new segment", !newestWithRecords(w.dir()).equals(w.seg()));
        byte[] bytes = Files.readAllBytes(w.seg());
        List<Rec> batch = batchAt(bytes, w.batch(), 3);
        assertEquals("the batch is the last thing in its segment", bytes.length, batch.get(3).end());
        zero(bytes, batch.get(2).offset() + 20, batch.get(2).end() - 10);
        Files.write(w.seg(), bytes);
        assertRefused(w, 2048, batch.get(2).offset(),
                "the spool opened over damage to a batch acknowledged before a later segment was written");
    }

    @Test
    public void aDamagedBatchRecordFallsBackToTheStrictRule() throws Exception {
        Written w = oneThenBatch(1 << 20, List.of("b@d.test", "c@d.test"), s -> { });
        byte[] atPowerCut = w.beforeClose();
        batchAt(atPowerCut, w.batch(), 2);
        zero(atPowerCut, w.batch() + 4, w.batch() + RecordCodec.BATCH_RECORD); // the batch record's page was lost
        Files.write(w.seg(), atPowerCut);
        assertRefused(w, 1 << 20, w.batch(), "the spool opened with no batch record to show the damage was unacknowledged");
    }

    /** Rewrites a segment as a build before batch records wrote it: the same records without the batch records. */
    private static byte[] withoutBatchRecords(byte[] seg) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (Rec r : records(seg)) {
            if (r.type() != RecordCodec.BATCH) {
                out.write(seg, r.offset(), r.end() - r.offset());
            }
        }
        return out.toByteArray();
    }

    @Test
    public void aSegmentWithoutBatchRecordsReplaysAsBefore() throws Exception {
        Path dir = tmp.newFolder().toPath();
        SpoolService spool = SpoolService.open(dir, 1 << 20);
        List<String> ids;
        Path seg;
        try {
            ids = new ArrayList<>(storeEach(spool, "a@d.test"));
            ids.addAll(storeInOneBatch(spool, "b@d.test", "c@d.test", "d@d.test"));
            seg = newestWithRecords(dir);
        } finally {
            spool.close();
        }
        byte[] old = withoutBatchRecords(Files.readAllBytes(seg));
        List<Rec> recs = records(old);
        assertEquals(4, recs.size());
        Files.write(seg, old);
        spool = SpoolService.open(dir, 1 << 20);
        try {
            assertEquals("an old segment opens with every message", ids, spool.queueIds(null, 10));
            assertArrayEquals(body("c@d.test"), spool.lease("d.test", 10).get(2).content());
        } finally {
            spool.close();
        }

        // the newest old segment, damaged in its middle with a valid record after: refused as before (nothing says
        // which records were acknowledged), although the same damage in a segment with batch records is cut
        for (Path p : segments(dir)) {
            if (!p.equals(seg)) {
                Files.delete(p);
            }
        }
        byte[] damaged = old.clone();
        zero(damaged, recs.get(2).offset() + 20, recs.get(2).end() - 10);
        Files.write(seg, damaged);
        try {
            SpoolService.open(dir, 1 << 20).close();
            fail("an old segment damaged in the middle was cut");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("offset " + recs.get(2).offset()));
        }
        assertArrayEquals(damaged, Files.readAllBytes(seg));

        // and its torn tail is cut as before
        Files.write(seg, Arrays.copyOf(old, recs.get(3).offset() + 30));
        spool = SpoolService.open(dir, 1 << 20);
        try {
            assertEquals(ids.subList(0, 3), spool.queueIds(null, 10));
            assertEquals(recs.get(3).offset(), Files.size(seg));
        } finally {
            spool.close();
        }
    }

    @Test
    public void aBatchThatRollsOverToANewSegmentHasABatchRecordInEachAndReplaysWhole() throws Exception {
        Path dir = tmp.newFolder().toPath();
        SpoolService spool = SpoolService.open(dir, 1024);
        List<String> ids;
        try {
            ids = storeInOneBatch(spool, "a@d.test", "b@d.test", "c@d.test", "d@d.test", "e@d.test", "f@d.test");
        } finally {
            spool.close();
        }
        int parts = 0;
        for (Path p : segments(dir)) {
            byte[] b = Files.readAllBytes(p);
            if (b.length == 0) {
                continue;
            }
            List<Rec> recs = records(b);
            int n = (int) recs.stream().filter(r -> r.type() != RecordCodec.BATCH).count();
            if (n > 0) {
                batchAt(b, 0, n); // each segment's part of the batch has its own batch record at its start
                assertEquals(ByteBuffer.wrap(b).getInt(RecordCodec.HEADER),
                        Integer.parseInt(p.getFileName().toString().substring(0, 8)));
                parts++;
            }
        }
        assertTrue("the batch spans segments: " + parts, parts > 1);
        spool = SpoolService.open(dir, 1024);
        try {
            assertEquals(ids, spool.queueIds(null, 10));
        } finally {
            spool.close();
        }
    }
}
