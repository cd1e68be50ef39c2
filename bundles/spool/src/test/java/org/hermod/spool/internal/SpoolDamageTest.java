package org.hermod.spool.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A damaged journal at start (docs/operations/recovery.md): damage in the middle of a segment or a record type from a
 * newer version refuses to open the spool with an error naming file and offset, and changes nothing; the documented
 * cut then recovers every readable record.
 */
public class SpoolDamageTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static Envelope env(String rcpt) {
        return new Envelope(MailAddress.parse("from@sender.test"), List.of(Recipient.of(MailAddress.parse(rcpt))), null,
                null, Envelope.BodyType.SEVEN_BIT, false, "c", "127.0.0.1", Instant.now());
    }

    private static Path onlySegment(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> segs = s.filter(p -> p.toString().endsWith(".seg")).filter(p -> {
                try {
                    return Files.size(p) > 0;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
            assertEquals(1, segs.size());
            return segs.get(0);
        }
    }

    /** Three messages in one segment; returns their ids and each record's start offset (plus the end). */
    private static String[] storeThree(Path dir, long[] starts) throws Exception {
        SpoolService spool = SpoolService.open(dir, 1 << 20);
        String[] ids = new String[3];
        try {
            for (int i = 0; i < 3; i++) {
                Path seg = null;
                try (Stream<Path> s = Files.list(dir)) {
                    seg = s.filter(p -> p.toString().endsWith(".seg")).sorted().reduce((a, b) -> b).orElseThrow();
                }
                starts[i] = Files.size(seg);
                ids[i] = spool.store(env("r" + i + "@d.test"), ("Subject: m" + i + "\r\n\r\n" + "body".repeat(50)
                        + "\r\n").getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            }
        } finally {
            spool.close();
        }
        starts[3] = Files.size(onlySegment(dir));
        return ids;
    }

    @Test
    public void damageInTheMiddleOfASegmentRefusesToOpenNamingFileAndOffsetAndTheCutRecoversTheRest()
            throws Exception {
        Path dir = tmp.newFolder().toPath();
        long[] starts = new long[4];
        String[] ids = storeThree(dir, starts);
        Path seg = onlySegment(dir);
        byte[] bytes = Files.readAllBytes(seg);
        bytes[(int) (starts[1] + 40)] ^= 0x5A; // a flipped byte inside the second message's record
        Files.write(seg, bytes);

        try {
            SpoolService.open(dir, 1 << 20).close();
            fail("the spool opened over a damaged record with acknowledged records after it");
        } catch (IOException e) {
            String m = e.getMessage();
            assertTrue(m, m.contains(seg.toString()));
            // the message record, after the batch record its batch begins with
            assertTrue(m, m.contains("offset " + (starts[1] + RecordCodec.BATCH_RECORD)));
            assertTrue(m, m.contains("NOT opened"));
            assertTrue(m, m.contains("recovery.md"));
        }
        assertArrayEquals("nothing on disk was changed", bytes, Files.readAllBytes(seg));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue("no new segment was started", s.noneMatch(p -> p.toString().contains(".corrupt")));
        }

        // the documented cut: keep the bytes before the damaged record and from the next valid one
        long damaged = starts[1] + RecordCodec.BATCH_RECORD;
        long next = Journal.nextValidRecord(seg, damaged);
        assertEquals("the next valid record is the third message's batch", starts[2], next);
        try (OutputStream out = Files.newOutputStream(seg)) {
            out.write(bytes, 0, (int) damaged);
            out.write(bytes, (int) next, bytes.length - (int) next);
        }
        SpoolService spool = SpoolService.open(dir, 1 << 20);
        try {
            assertEquals("only the damaged message is lost", List.of(ids[0], ids[2]), spool.queueIds(null, 10));
            assertTrue(new String(spool.lease("d.test", 10).get(1).content(), StandardCharsets.US_ASCII)
                    .startsWith("Subject: m2"));
        } finally {
            spool.close();
        }
    }

    @Test
    public void aRecordTypeFromANewerVersionRefusesToOpenAndChangesNothing() throws Exception {
        Path dir = tmp.newFolder().toPath();
        long[] starts = new long[4];
        storeThree(dir, starts);
        Path seg = onlySegment(dir);
        try (var ch = java.nio.channels.FileChannel.open(seg, java.nio.file.StandardOpenOption.APPEND)) {
            ch.write(RecordCodec.frame((byte) 99, new byte[] {1, 2, 3}, 3));
        }
        byte[] before = Files.readAllBytes(seg);
        try {
            SpoolService.open(dir, 1 << 20).close();
            fail("a record of an unknown type was skipped");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("type 99"));
            assertTrue(e.getMessage(), e.getMessage().contains("offset " + starts[3]));
            assertTrue(e.getMessage(), e.getMessage().contains(seg.toString()));
        }
        assertArrayEquals(before, Files.readAllBytes(seg));
    }
}
