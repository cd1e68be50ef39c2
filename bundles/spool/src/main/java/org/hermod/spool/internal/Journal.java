package org.hermod.spool.internal;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only journal of records in numbered segment files, written by one thread with group commit: every record
 * queued while the previous fsync ran goes out in one gathering write and one {@code fdatasync}. A future completes only
 * after its record is on disk. See docs/adr/0001-spool-journal.md.
 */
final class Journal implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
    private static final String SUFFIX = ".seg";
    private static final int MAX_BATCH = 4096;

    private final Path dir;
    private final long segmentSize;
    private final SpaceGuard space;
    /** Tests: the next flush writes part of its data and then fails with this (a simulated ENOSPC). */
    volatile IOException failNextWrite;
    /** Tests: the writer waits for this after taking a batch's first record, so that a batch can be assembled. */
    volatile java.util.concurrent.CountDownLatch holdBatch;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    /** Set by the writer just before its final drain of the queue. */
    private volatile boolean drained;
    private final Map<Integer, FileChannel> readers = new ConcurrentHashMap<>();
    private final Thread writer;
    private volatile boolean running = true;

    private FileChannel active;
    private volatile int activeSegment;
    /** The segment the batch being written started in, or MAX_VALUE: records there may not be indexed yet. */
    private volatile int writingFrom = Integer.MAX_VALUE;
    private long position;

    /** Where a record landed. */
    record Location(int segment, long offset) {
    }

    /** Called for each valid record during replay. */
    interface Visitor {
        void record(int segment, long offset, byte type, byte[] payload) throws IOException;
    }

    private record Pending(byte type, byte[] head, byte[] content, CompletableFuture<Location> done) {
    }

    Journal(Path dir, long segmentSize, SpaceGuard space) throws IOException {
        this.dir = dir;
        this.segmentSize = segmentSize;
        this.space = space;
        Files.createDirectories(dir);
        this.writer = new Thread(this::writeLoop, "hermod-spool-journal");
        this.writer.setDaemon(true);
    }

    /** Segment numbers present on disk, ascending. */
    List<Integer> segments() throws IOException {
        List<Integer> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (n.endsWith(SUFFIX)) {
                    try {
                        out.add(Integer.parseInt(n.substring(0, n.length() - SUFFIX.length())));
                    } catch (NumberFormatException ignored) {
                        // not ours
                    }
                }
            });
        }
        out.sort(null);
        return out;
    }

    private Path file(int segment) {
        return dir.resolve(String.format("%08d%s", segment, SUFFIX));
    }

    /**
     * Reads every valid record of every segment in order.
     *
     * <p>A damaged record is handled by what follows it in its segment (docs/operations/recovery.md):
     * <ul>
     * <li>nothing valid: a <em>torn tail</em>, the end of a write that was never acknowledged (a crash or a failed
     *     write): the segment is cut there, a copy of it kept as {@code .corrupt-<millis>}, and the spool opens;</li>
     * <li>the damaged record lies inside the extent of the last batch of the newest segment (as its {@link
     *     RecordCodec#BATCH} record states it) and the segment ends within that extent (nothing, not even a torn
     *     byte, was written after that batch: no later batch, no clean-close mark): the
     *     <em>unacknowledged last batch</em>, which a power cut can leave with pages missing in its middle. Batches
     *     are written and fsynced one after another and acknowledged only after their fsync, and a later segment is
     *     opened only after the previous one is fsynced, so nothing from that batch on was acknowledged: cut as a torn
     *     tail;</li>
     * <li>otherwise a valid record further on: <em>damage in the middle</em> (a bad disk block, a stray write):
     *     records after it were acknowledged, so cutting would lose mail silently. The spool refuses to open, with an
     *     error naming the file, the offsets and what to do; nothing on disk is changed.</li>
     * </ul>
     * A record the visitor cannot decode, or of a type it does not know, also refuses the spool, naming the file and
     * offset. {@link RecordCodec#BATCH} records are consumed here, not passed to the visitor.
     */
    void replay(Visitor visitor) throws IOException {
        List<Integer> segs = segments();
        for (int seg : segs) {
            boolean newest = seg == segs.get(segs.size() - 1);
            Path f = file(seg);
            long offset = 0;
            long size = Files.size(f);
            boolean corrupt = false;
            long batchStart = -1; // the extent of the last valid batch record's records in this segment, if any
            long batchEnd = -1;
            try (InputStream raw = Files.newInputStream(f);
                 DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
                while (offset < size) {
                    if (size - offset < RecordCodec.HEADER + RecordCodec.TRAILER) {
                        corrupt = true;
                        break;
                    }
                    int magic = in.readInt();
                    byte type = in.readByte();
                    int len = in.readInt();
                    if (magic != RecordCodec.MAGIC || len < 0
                            || len > size - offset - RecordCodec.HEADER - RecordCodec.TRAILER) {
                        corrupt = true;
                        break;
                    }
                    byte[] payload = new byte[len];
                    in.readFully(payload);
                    int crc = in.readInt();
                    if (crc(type, payload, 0, len) != crc) {
                        corrupt = true;
                        break;
                    }
                    long end = offset + RecordCodec.HEADER + len + RecordCodec.TRAILER;
                    if (type == RecordCodec.BATCH) {
                        // trusted only where it was written (a segment edited by hand falls back to the strict rules)
                        long length = RecordCodec.batchLength(payload, seg, offset);
                        batchStart = length >= 0 ? end : -1;
                        batchEnd = length >= 0 ? end + length : -1;
                    } else {
                        try {
                            visitor.record(seg, offset, type, payload);
                        } catch (IOException | RuntimeException e) {
                            throw refuse(f, offset, e.getMessage() == null ? e.toString() : e.getMessage(), e);
                        }
                    }
                    offset = end;
                }
            } catch (EOFException e) {
                corrupt = true;
            }
            if (!corrupt) {
                continue;
            }
            byte[] bytes = Files.readAllBytes(f);
            long next = nextValidRecord(bytes, offset);
            if (newest && batchStart >= 0 && offset >= batchStart && offset < batchEnd
                    && size <= batchEnd && lostWrite(bytes, offset, next >= 0 ? next : size)) {
                LOG.warn("Spool segment {} is damaged at offset {} of {}, inside the last batch written before the"
                        + " process or machine stopped (its records span offsets {} to {}), the damage holds sectors"
                        + " that were never written, and nothing was written after that batch: it is the"
                        + " unacknowledged last batch, torn by a power cut (no client got a 250 for it); cutting the"
                        + " segment at offset {} (a copy of the segment is kept as .corrupt-*)", f, offset, size,
                        batchStart, batchEnd, offset);
                cut(f, offset, size);
                continue;
            }
            if (next >= 0) {
                throw refuse(f, offset, "the record there is damaged (bytes " + offset + " to " + next
                        + " of " + size + " are unreadable) but valid records follow it, so this is not the torn end"
                        + " of an unacknowledged write: the messages recorded in and after the damaged bytes were"
                        + " accepted; to keep every readable record and lose only the damaged bytes, cut them out"
                        + " with: { head -c " + offset + " " + f + "; tail -c +" + (next + 1) + " " + f + "; } > "
                        + f + ".new && mv " + f + ".new " + f, null);
            }
            LOG.warn("Spool segment {} ends in an incomplete or corrupt record at offset {} of {}: the torn end of"
                    + " a write that was never acknowledged; cutting it off (a copy of the segment is kept as"
                    + " .corrupt-*)", f, offset, size);
            cut(f, offset, size);
        }
    }

    /** Cuts a segment at {@code offset}, keeping a copy of the whole segment first when more than a few bytes go. */
    private static void cut(Path f, long offset, long size) throws IOException {
        if (size - offset > RecordCodec.HEADER + RecordCodec.TRAILER) {
            Path copy = f.resolveSibling(f.getFileName() + ".corrupt-" + System.currentTimeMillis());
            try {
                Files.copy(f, copy);
            } catch (IOException e) { // a full disk must not keep the spool shut: the tail was never acknowledged
                Files.deleteIfExists(copy);
                LOG.warn("Could not keep a copy of {} before cutting its torn tail ({}); cutting anyway", f,
                        e.toString());
            }
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(offset);
            ch.force(true);
        }
    }

    /** The error that stops the spool from opening, logged and thrown. */
    private static IOException refuse(Path f, long offset, String what, Throwable cause) {
        String msg = "Spool segment " + f + " cannot be read at offset " + offset + ": " + what + ". The spool is NOT"
                + " opened (no mail is accepted or delivered) and nothing on disk was changed. To recover: stop Hermod,"
                + " copy the spool directory for safekeeping, then either restore the segment or move it out of the"
                + " spool directory (e.g. mv " + f + " " + f + ".damaged) and start again; see"
                + " docs/operations/recovery.md for what moving it aside loses";
        LOG.error(msg, cause);
        return new IOException(msg, cause);
    }

    private static int crc(byte type, byte[] payload, int from, int len) {
        CRC32C c = new CRC32C();
        c.update(type);
        c.update(ByteBuffer.allocate(4).putInt(0, len));
        c.update(payload, from, len);
        return (int) c.getValue();
    }

    /** Disk sectors: a power cut loses whole ones. */
    static final int SECTOR = 512;

    /**
     * True when the damaged bytes {@code [from, to)} of a segment hold a whole sector, aligned in the file, of zeros:
     * the mark of a write that never reached the disk (unwritten parts of a file read as zeros, and a disk loses whole
     * sectors), not of a bad block, a stray write or a flash page garbled while being rewritten, which leave other
     * bytes. SMTP content never holds 512 zero bytes, nor do the records' own fields.
     */
    static boolean lostWrite(byte[] b, long from, long to) {
        for (long s = (from + SECTOR - 1) / SECTOR * SECTOR; s + SECTOR <= to && s + SECTOR <= b.length; s += SECTOR) {
            boolean zeros = true;
            for (int i = (int) s; i < s + SECTOR && zeros; i++) {
                zeros = b[i] == 0;
            }
            if (zeros) {
                return true;
            }
        }
        return false;
    }

    /** The offset of the first valid record after {@code from} in a segment, or -1 when there is none. */
    static long nextValidRecord(Path f, long from) throws IOException {
        return nextValidRecord(Files.readAllBytes(f), from);
    }

    /** The same, in a segment's bytes already read. */
    static long nextValidRecord(byte[] b, long from) {
        ByteBuffer buf = ByteBuffer.wrap(b);
        for (int i = (int) from + 1; i + RecordCodec.HEADER + RecordCodec.TRAILER <= b.length; i++) {
            if (buf.getInt(i) != RecordCodec.MAGIC) {
                continue;
            }
            int len = buf.getInt(i + 5);
            if (len < 0 || len > b.length - i - RecordCodec.HEADER - RecordCodec.TRAILER) {
                continue;
            }
            if (crc(b[i + 4], b, i + RecordCodec.HEADER, len) == buf.getInt(i + RecordCodec.HEADER + len)) {
                return i;
            }
        }
        return -1;
    }

    /** Opens a fresh segment after the last one and starts the writer. */
    void start() throws IOException {
        List<Integer> segs = segments();
        int next = segs.isEmpty() ? 1 : segs.get(segs.size() - 1) + 1;
        openSegment(next);
        writer.start();
    }

    private void openSegment(int seg) throws IOException {
        if (active != null) {
            active.force(false);
            active.close();
            active = null;
        }
        active = FileChannel.open(file(seg), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        position = 0;
        activeSegment = seg;
        syncDirectory();
    }

    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            LOG.debug("directory fsync not supported here: {}", e.toString());
        }
    }

    int activeSegment() {
        return activeSegment;
    }

    /**
     * The lowest segment that may hold records whose futures have not completed yet (so the index may not know them);
     * compaction must read {@link #activeSegment()} first, then this, and delete only below both.
     */
    int writingFrom() {
        return writingFrom;
    }

    /**
     * Queues a record; the future completes once it is fsynced. {@code content} (may be null) is appended after
     * {@code head} inside the same payload.
     */
    CompletableFuture<Location> append(byte type, byte[] head, byte[] content) {
        CompletableFuture<Location> f = new CompletableFuture<>();
        if (!running) {
            f.completeExceptionally(new IOException("spool is closed"));
            return f;
        }
        Pending p = new Pending(type, head, content, f);
        queue.add(p);
        // closed meanwhile: the writer may have taken its last look at the queue already; a record it did not take
        // must not wait forever (the writer's final drain fails what it takes, this fails the rest)
        if (drained && queue.remove(p)) {
            f.completeExceptionally(new IOException("spool is closed"));
        }
        return f;
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        List<Location> locations = new ArrayList<>(MAX_BATCH);
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                java.util.concurrent.CountDownLatch hold = holdBatch;
                if (hold != null) {
                    hold.await();
                }
                queue.drainTo(batch, MAX_BATCH - 1);
                writingFrom = activeSegment;
                writeOrRollBack(batch, locations);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failAll(batch, new IOException("spool is closing"));
                break;
            } finally {
                writingFrom = Integer.MAX_VALUE;
                batch.clear();
                locations.clear();
            }
        }
        // anything queued after the loop ended must not wait forever: from here on append fails what it queues
        // itself unless this last drain took it
        drained = true;
        List<Pending> rest = new ArrayList<>();
        queue.drainTo(rest);
        failAll(rest, new IOException("spool is closed"));
    }

    /**
     * Writes a batch and completes its futures. If the write or its fsync fails (ENOSPC, EIO), the segment is cut back
     * to where the batch began, so that no record whose future failed survives on disk (a message refused with a 4xx
     * is not delivered after a restart) and no torn record is left. Then the batch's small records (outcomes,
     * deletions, holds) are tried once more without its messages: they need little space (the floor keeps it for
     * them), and a lost outcome would mean a second delivery. Messages fail with {@link
     * org.hermod.api.spool.SpoolFullException} when the disk is full.
     */
    private void writeOrRollBack(List<Pending> batch, List<Location> locations) {
        int startSegment = activeSegment;
        long startPosition = active == null ? -1 : position;
        boolean written = false;
        try {
            writeBatch(batch, locations);
            written = true;
        } catch (Throwable t) {
            locations.clear();
            boolean noSpace = space.isOutOfSpace(t);
            rollBack(startSegment, startPosition);
            List<Pending> small = new ArrayList<>();
            for (Pending p : batch) {
                if (isMessage(p.type)) {
                    p.done.completeExceptionally(noSpace ? space.full(0) : t);
                } else {
                    small.add(p);
                }
            }
            int messages = batch.size() - small.size();
            LOG.error("Spool write failed{}; {} messages refused (4xx to their clients), nothing of the batch kept on"
                    + " disk{}", noSpace ? " (file system full)" : "", messages,
                    small.isEmpty() || messages == 0 ? "" : "; retrying its " + small.size() + " outcome records", t);
            if (messages == 0 || small.isEmpty()) {
                failAll(small, t);
                return;
            }
            startSegment = activeSegment;
            startPosition = active == null ? -1 : position;
            boolean again = false;
            try {
                writeBatch(small, locations);
                again = true;
            } catch (Throwable second) {
                LOG.error("Spool write of {} outcome records failed too; their deliveries will be attempted again",
                        small.size(), second);
                rollBack(startSegment, startPosition);
                failAll(small, second);
            }
            if (again) {
                acknowledge(small, locations);
            }
        }
        if (written) {
            // outside the try: whatever a caller's callback does, a written and fsynced batch is never rolled back
            acknowledge(batch, locations);
        }
    }

    /** Completes a written batch's futures; one whose callback fails (an Error) neither stops the others nor the writer. */
    private static void acknowledge(List<Pending> batch, List<Location> locations) {
        for (int i = 0; i < batch.size(); i++) {
            try {
                batch.get(i).done.complete(locations.get(i));
            } catch (Throwable t) {
                LOG.error("A spool write's caller failed on its acknowledgement (the record is on disk)", t);
            }
        }
    }

    private static boolean isMessage(byte type) {
        return type == RecordCodec.MSG || type == RecordCodec.MSG_ROUTED || type == RecordCodec.MSG_V1;
    }

    /**
     * Cuts the journal back to {@code (segment, position)}: segments opened since are deleted, the segment is truncated
     * there and synced, and writing continues at that point. Everything before it was fsynced by earlier batches. If
     * the cut fails, the segment is abandoned instead (replay then cuts its torn tail).
     */
    private void rollBack(int segment, long position) {
        try {
            for (int s = activeSegment; s > segment; s--) { // segments the batch opened hold nothing else
                if (s == activeSegment && active != null) {
                    active.close();
                    active = null;
                }
                Files.deleteIfExists(file(s));
            }
            if (position < 0) { // the batch began without an open segment (after an abandoned one): start afresh
                activeSegment = segment;
                active = null;
                return;
            }
            if (active == null || activeSegment != segment) {
                active = FileChannel.open(file(segment), StandardOpenOption.WRITE);
                activeSegment = segment;
            }
            active.truncate(position);
            active.force(true);
            active.position(position);
            this.position = position;
        } catch (IOException | RuntimeException e) {
            LOG.error("Cannot cut spool segment {} back to offset {} after a failed write; continuing in a new"
                    + " segment (replay will cut the torn tail)", file(segment), position, e);
            abandonSegment();
        }
    }

    private static void failAll(List<Pending> batch, Throwable t) {
        for (Pending p : batch) {
            p.done.completeExceptionally(t);
        }
    }

    /**
     * After a failed write or fsync the active segment may end in a torn record and its unsynced pages cannot be
     * trusted (a failed fsync may have dropped them): nothing more is written there. Earlier records in it were
     * acknowledged only after their own successful fsync and stay valid; replay cuts the torn tail. Writing goes on in
     * a new segment; if that cannot be opened now, the next batch tries again.
     */
    private void abandonSegment() {
        try {
            if (active != null) {
                active.close();
            }
        } catch (IOException ignored) {
            // already broken
        }
        active = null;
        try {
            openSegment(activeSegment + 1);
        } catch (IOException e) {
            LOG.error("Cannot open a new spool segment; will retry with the next message", e);
        }
    }

    /**
     * Writes a batch with one gathering write per segment and fsyncs it. The records of the batch in each segment are
     * preceded by a {@link RecordCodec#BATCH} record giving their extent; a batch that does not fit rolls over to a new
     * segment only after the old one is fsynced (so only the newest segment can hold an unacknowledged batch).
     */
    private void writeBatch(List<Pending> batch, List<Location> locations) throws IOException {
        if (active == null) {
            openSegment(activeSegment + 1);
        }
        List<ByteBuffer> buffers = new ArrayList<>(batch.size() * 3 + 1);
        int part = -1; // index in buffers of this segment's batch record, filled in when the part is complete
        long partAt = 0;
        for (Pending p : batch) {
            int contentLen = p.content == null ? 0 : p.content.length;
            int len = p.head.length + contentLen;
            long recordSize = RecordCodec.HEADER + (long) len + RecordCodec.TRAILER;
            if (position > 0 && position + (part < 0 ? RecordCodec.BATCH_RECORD : 0) + recordSize > segmentSize) {
                endPart(buffers, part, partAt);
                part = -1;
                flush(buffers);
                openSegment(activeSegment + 1);
            }
            if (part < 0) {
                part = buffers.size();
                partAt = position;
                buffers.add(null);
                position += RecordCodec.BATCH_RECORD;
                space.appended(RecordCodec.BATCH_RECORD);
            }
            ByteBuffer header = ByteBuffer.allocate(RecordCodec.HEADER + p.head.length);
            header.putInt(RecordCodec.MAGIC).put(p.type).putInt(len).put(p.head).flip();
            CRC32C crc = new CRC32C();
            crc.update(header.array(), 4, header.limit() - 4);
            buffers.add(header);
            if (p.content != null) {
                crc.update(p.content);
                buffers.add(ByteBuffer.wrap(p.content));
            }
            buffers.add(ByteBuffer.allocate(4).putInt(0, (int) crc.getValue()));
            locations.add(new Location(activeSegment, position));
            position += recordSize;
            space.appended(recordSize);
        }
        endPart(buffers, part, partAt);
        flush(buffers);
        active.force(false);
    }

    /** Fills in the batch record of the part of a batch written since {@code partAt} in the active segment. */
    private void endPart(List<ByteBuffer> buffers, int part, long partAt) {
        if (part >= 0) {
            buffers.set(part, RecordCodec.batchRecord(activeSegment, partAt,
                    position - partAt - RecordCodec.BATCH_RECORD));
        }
    }

    private void flush(List<ByteBuffer> buffers) throws IOException {
        if (buffers.isEmpty()) {
            return;
        }
        ByteBuffer[] arr = buffers.toArray(new ByteBuffer[0]);
        IOException fault = failNextWrite;
        if (fault != null) {
            failNextWrite = null;
            active.write(arr[0]); // part of the batch reaches the file, as with a real ENOSPC
            throw fault;
        }
        int from = 0;
        while (from < arr.length) {
            active.write(arr, from, Math.min(arr.length - from, 1000));
            while (from < arr.length && !arr[from].hasRemaining()) {
                from++;
            }
        }
        buffers.clear();
    }

    /** Reads {@code length} bytes at {@code offset} of a segment. Thread-safe. */
    byte[] read(int segment, long offset, int length) throws IOException {
        FileChannel ch = readers.computeIfAbsent(segment, s -> {
            try {
                return FileChannel.open(file(s), StandardOpenOption.READ);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        ByteBuffer buf = ByteBuffer.allocate(length);
        long pos = offset;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new EOFException("spool segment " + segment + " ends before offset " + pos);
            }
            pos += n;
        }
        return buf.array();
    }

    /**
     * Deletes a whole segment whose records are all obsolete. The file goes first: a {@link #read} racing with this
     * either opened its reader before (the map's lock for the key orders that open before the removal below, which
     * closes it) or finds no file; the other order could leave a reader open on the deleted file, holding its disk
     * space until the spool closed.
     */
    void deleteSegment(int segment) throws IOException {
        Files.deleteIfExists(file(segment));
        FileChannel r = readers.remove(segment);
        if (r != null) {
            r.close();
        }
    }

    @Override
    public void close() throws IOException {
        running = false;
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (active != null) {
            if (!writer.isAlive() && position > 0) {
                // a clean close: an empty batch record after the last batch says that batch was acknowledged, so
                // damage to it found at the next start is not taken for a torn unacknowledged batch
                try {
                    ByteBuffer end = RecordCodec.batchRecord(activeSegment, position, 0);
                    while (end.hasRemaining()) {
                        active.write(end);
                    }
                    position += RecordCodec.BATCH_RECORD;
                } catch (IOException e) {
                    LOG.warn("Could not mark the clean close of spool segment {}", file(activeSegment), e);
                }
            }
            active.force(false);
            active.close();
        }
        for (FileChannel ch : readers.values()) {
            ch.close();
        }
        readers.clear();
    }
}
