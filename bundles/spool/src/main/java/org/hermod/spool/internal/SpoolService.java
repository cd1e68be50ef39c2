package org.hermod.spool.internal;

import org.hermod.api.routing.Route;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.Envelope;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.api.spool.DomainSummary;
import org.hermod.api.spool.MessageInfo;
import org.hermod.api.spool.QueueManager;
import org.hermod.api.spool.Spool;
import org.hermod.api.spool.SpoolFullException;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spool: a group-committed journal on disk ({@link Journal}) plus the in-memory queue index ({@link QueueIndex})
 * rebuilt from it at start. One component provides the three spool services so they share one consistent state.
 */
@Component(service = {Spool.class, DeliveryQueue.class, QueueManager.class}, configurationPid = "org.hermod.spool",
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
@Designate(ocd = SpoolConfig.class)
public final class SpoolService implements Spool, DeliveryQueue, QueueManager {

    private static final Logger LOG = LoggerFactory.getLogger(SpoolService.class);

    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final QueueIndex index = new QueueIndex(this::fireReady);
    private final AtomicInteger idCounter = new AtomicInteger();
    private Journal journal;
    private Thread timerThread;
    private ScheduledExecutorService housekeeping;
    /**
     * Completes the stages {@link DeliveryItem#complete} returns, so that callers' follow-up work never runs on the
     * journal's writer thread (which group-commits every accepted message).
     */
    private final java.util.concurrent.ExecutorService completions = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "hermod-spool-completions");
        t.setDaemon(true);
        return t;
    });
    private Path dir;
    private long segmentSize;
    private SpaceGuard space;

    /** For tests and embedding: opens a spool in a directory. */
    public static SpoolService open(Path dir, long segmentSize) throws IOException {
        return open(dir, segmentSize, TimeUnit.HOURS.toMillis(120), null);
    }

    /**
     * As {@link #open(Path, long)}, held messages returned to their senders after {@code heldMaxAgeMillis}, and the
     * free space checked by {@code space} (null: no floor).
     */
    static SpoolService open(Path dir, long segmentSize, long heldMaxAgeMillis, SpaceGuard space) throws IOException {
        SpoolService s = new SpoolService();
        s.index.heldMaxAge(heldMaxAgeMillis);
        s.start(dir, segmentSize, 10, space);
        return s;
    }

    @Activate
    void activate(BundleContext ctx, SpoolConfig config) throws IOException {
        Path d;
        if (config.directory() != null && !config.directory().isBlank()) {
            d = Paths.get(config.directory());
        } else {
            String data = ctx.getProperty("karaf.data");
            d = Paths.get(data == null ? "data" : data, "hermod", "spool");
        }
        index.heldMaxAge(TimeUnit.HOURS.toMillis(Math.max(0, config.heldMaxAgeHours())));
        Files.createDirectories(d);
        start(d, config.segmentSizeMb() * 1024L * 1024L, config.compactIntervalSeconds(),
                SpaceGuard.forDirectory(d, Math.max(0, config.minFreeSpaceMb()) * 1024L * 1024L));
    }

    private void start(Path d, long segSize, int compactSeconds, SpaceGuard guard) throws IOException {
        this.dir = d;
        this.segmentSize = segSize;
        Files.createDirectories(d);
        this.space = guard != null ? guard : SpaceGuard.forDirectory(d, 0);
        journal = new Journal(d, segSize, space);
        long t0 = System.nanoTime();
        int[] counts = new int[3];
        index.lock.lock();
        try {
            journal.replay((seg, offset, type, payload) -> replayRecord(seg, offset, type, payload, counts));
            loadSuspended();
        } finally {
            index.lock.unlock();
        }
        journal.start();
        index.activateAll();
        LOG.info("Spool {} opened: {} messages queued ({} records replayed) in {} ms", d, index.size(),
                counts[0] + counts[1] + counts[2], (System.nanoTime() - t0) / 1_000_000);
        timerThread = new Thread(index::runTimer, "hermod-spool-timer");
        timerThread.setDaemon(true);
        timerThread.start();
        housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-spool-compactor");
            t.setDaemon(true);
            return t;
        });
        housekeeping.scheduleWithFixedDelay(this::compact, compactSeconds, compactSeconds, TimeUnit.SECONDS);
    }

    private void replayRecord(int seg, long offset, byte type, byte[] payload, int[] counts) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(payload));
        switch (type) {
            case RecordCodec.MSG, RecordCodec.MSG_V1, RecordCodec.MSG_ROUTED -> {
                RecordCodec.MessageHead h = RecordCodec.readMessageHead(in, type);
                int contentLen = in.readInt();
                QueueIndex.MessageEntry m = index.newEntry(h.id(), h.envelope(), h.rcptStatus(), h.route(),
                        h.holdReason());
                m.segment = seg;
                m.contentLength = contentLen;
                m.contentOffset = offset + RecordCodec.HEADER + (payload.length - contentLen);
                Map<String, RecordCodec.SlotState> states = new HashMap<>();
                for (RecordCodec.SlotState st : h.slots()) {
                    states.put(st.domain(), st);
                }
                index.put(m, states, false);
                counts[0]++;
            }
            case RecordCodec.STATE, RecordCodec.STATE_V1 -> {
                String id = in.readUTF();
                RecordCodec.SlotState st = RecordCodec.readSlotState(in, type == RecordCodec.STATE_V1);
                int n = in.readInt();
                int[] idx = new int[n];
                byte[] status = new byte[n];
                for (int i = 0; i < n; i++) {
                    idx[i] = in.readInt();
                    status[i] = in.readByte();
                }
                index.applyState(id, st, idx, status);
                counts[1]++;
            }
            case RecordCodec.DELETE -> {
                index.remove(in.readUTF());
                counts[2]++;
            }
            case RecordCodec.HOLD -> {
                index.applyHold(in.readUTF(), RecordCodec.readNullable(in));
                counts[1]++;
            }
            // A type this version does not know was written by a newer Hermod. Skipping it would lose that mail (and
            // let compaction delete its segment), so the spool refuses to open: upgrade again, or restore the
            // journal from before the downgrade.
            default -> throw new IOException("it is a record of type " + type + " that this version of Hermod does"
                    + " not know (written by a newer version?): run that version again, or restore the journal from"
                    + " before the upgrade");
        }
    }

    @Deactivate
    void deactivate() throws IOException {
        if (housekeeping != null) {
            housekeeping.shutdownNow();
        }
        completions.shutdown();
        index.stopTimer();
        if (journal != null) {
            journal.close();
        }
    }

    /** The journal (tests inject write faults). */
    Journal journal() {
        return journal;
    }

    /** Closes the spool (tests). */
    public void close() throws IOException {
        deactivate();
    }

    // ------------------------------------------------------------------ Spool

    @Override
    public CompletableFuture<String> store(Envelope envelope, byte[] content) {
        return store(newQueueId(), envelope, content);
    }

    @Override
    public CompletableFuture<String> store(String id, Envelope envelope, byte[] content) {
        return store(id, envelope, Route.DEFAULT, null, content);
    }

    @Override
    public CompletableFuture<String> store(String id, Envelope envelope, Route route, String holdReason,
                                           byte[] content) {
        QueueIndex.MessageEntry m = index.newEntry(id, envelope, new byte[envelope.recipients().size()], route,
                holdReason == null ? null : holdText(holdReason));
        byte type = RecordCodec.messageType(m);
        byte[] head;
        try {
            head = RecordCodec.messageRecordHead(m, type, content.length);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        SpoolFullException full = space.admit(head.length + (long) content.length + RecordCodec.HEADER
                + RecordCodec.TRAILER);
        if (full != null) {
            return CompletableFuture.failedFuture(full);
        }
        return journal.append(type, head, content).thenApply(loc -> {
            index.lock.lock();
            try {
                m.segment = loc.segment();
                m.contentOffset = loc.offset() + RecordCodec.HEADER + head.length;
                m.contentLength = content.length;
                index.put(m, null, true);
            } finally {
                index.lock.unlock();
            }
            fireReady();
            return id;
        });
    }

    @Override
    public String newQueueId() {
        String t = Long.toString(System.currentTimeMillis(), 36).toUpperCase();
        String c = Integer.toString(idCounter.getAndIncrement() & 0xFFFFF, 36).toUpperCase();
        return t + "0000".substring(c.length()) + c;
    }

    // ------------------------------------------------------------------ DeliveryQueue

    @Override
    public Set<String> readyDomains() {
        return index.readyDomains();
    }

    @Override
    public List<DeliveryItem> lease(String domain, int max) {
        List<DeliveryItem> out = new ArrayList<>();
        index.lock.lock();
        try {
            for (QueueIndex.Slot s : index.lease(domain, max)) {
                out.add(new LeasedItem(this, s, s.pendingRecipients()));
            }
        } finally {
            index.lock.unlock();
        }
        return out;
    }

    @Override
    public void addReadyListener(Runnable listener) {
        listeners.add(listener);
    }

    @Override
    public void removeReadyListener(Runnable listener) {
        listeners.remove(listener);
    }

    private void fireReady() {
        for (Runnable r : listeners) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("ready listener failed", e);
            }
        }
    }

    /**
     * Called by {@link LeasedItem}. A release (nothing decided) applies at once. Outcomes are written to the journal
     * first and applied to the index only once they are fsynced, so what the index shows is always what a restart
     * would show; the slot stays leased meanwhile. If the write fails the slot becomes due again (the attempt is
     * repeated: at-least-once) instead of silently forgetting the outcome, and the returned stage fails.
     *
     * @return completes when the outcome is durable and applied to the index
     */
    CompletableFuture<Void> complete(QueueIndex.Slot slot, int[] idx, byte[] status, boolean countAttempt, long retryAt,
                                     String lastError) {
        if (!countAttempt && idx.length == 0) {
            index.lock.lock();
            try {
                index.complete(slot, idx, status, false, 0, null, 0);
            } finally {
                index.lock.unlock();
            }
            fireReady();
            return CompletableFuture.completedFuture(null);
        }
        long ended = System.currentTimeMillis();
        CompletableFuture<Journal.Location> durable;
        index.lock.lock();
        try {
            int attempts = slot.attempts + (countAttempt ? 1 : 0);
            String err = lastError != null ? lastError : slot.lastError;
            durable = journal.append(RecordCodec.STATE, RecordCodec.stateRecord(slot.msg.id, slot.domain, attempts,
                    retryAt, err, countAttempt ? ended : slot.lastAttempt, idx, status), null);
        } finally {
            index.lock.unlock();
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        durable.whenComplete((loc, failure) -> {
            Throwable error = failure;
            try {
                index.lock.lock();
                try {
                    if (failure == null) {
                        index.complete(slot, idx, status, countAttempt, retryAt, lastError, ended);
                    } else {
                        LOG.error("Could not record the delivery outcome of {} ({}); it will be attempted again",
                                slot.msg.id, slot.domain, failure);
                        index.complete(slot, new int[0], new byte[0], false, 0, null, 0);
                    }
                } finally {
                    index.lock.unlock();
                }
                fireReady();
            } catch (RuntimeException e) {
                LOG.error("applying the outcome of {} ({}) failed", slot.msg.id, slot.domain, e);
                error = error == null ? e : error;
            } finally {
                Throwable t = error;
                try {
                    completions.execute(() -> {
                        if (t == null) {
                            done.complete(null);
                        } else {
                            done.completeExceptionally(t);
                        }
                    });
                } catch (java.util.concurrent.RejectedExecutionException closed) {
                    done.completeExceptionally(t == null ? closed : t);
                }
            }
        });
        return done;
    }

    byte[] content(QueueIndex.MessageEntry m) throws IOException {
        int seg;
        long off;
        int len;
        index.lock.lock();
        try {
            seg = m.segment;
            off = m.contentOffset;
            len = m.contentLength;
        } finally {
            index.lock.unlock();
        }
        return journal.read(seg, off, len);
    }

    // ------------------------------------------------------------------ QueueManager

    @Override
    public List<DomainSummary> summaries() {
        index.lock.lock();
        try {
            return index.summaries();
        } finally {
            index.lock.unlock();
        }
    }

    @Override
    public Optional<MessageInfo> message(String queueId) {
        QueueIndex.MessageEntry m;
        String holdReason;
        List<MessageInfo.RecipientState> states = new ArrayList<>();
        index.lock.lock();
        try {
            m = index.get(queueId);
            if (m == null) {
                return Optional.empty();
            }
            holdReason = m.holdReason;
            for (int i = 0; i < m.rcptStatus.length; i++) {
                String addr = m.envelope.recipients().get(i).address().toString();
                QueueIndex.Slot s = m.slots.get(m.envelope.recipients().get(i).address().domainKey());
                MessageInfo.State state;
                if (m.rcptStatus[i] == QueueIndex.DELIVERED) {
                    state = MessageInfo.State.DELIVERED;
                } else if (m.rcptStatus[i] == QueueIndex.FAILED) {
                    state = MessageInfo.State.FAILED;
                } else if (s != null && s.state == QueueIndex.SlotState.LEASED) {
                    state = MessageInfo.State.ACTIVE;
                } else if (m.holdReason != null || (s != null && index.suspended().contains(s.domain))) {
                    state = MessageInfo.State.HELD;
                } else if (s != null && s.state == QueueIndex.SlotState.DEFERRED) {
                    state = MessageInfo.State.DEFERRED;
                } else {
                    state = MessageInfo.State.QUEUED;
                }
                states.add(new MessageInfo.RecipientState(addr, state, s == null ? 0 : s.attempts,
                        s == null || s.nextAttempt == 0 ? null : Instant.ofEpochMilli(s.nextAttempt),
                        s == null ? null : s.lastError));
            }
        } finally {
            index.lock.unlock();
        }
        String headers;
        try {
            headers = headerSection(content(m));
        } catch (IOException | RuntimeException e) {
            headers = "";
        }
        return Optional.of(new MessageInfo(m.id, m.envelope, m.contentLength, states, headers, m.route, holdReason));
    }

    static String headerSection(byte[] content) {
        int end = content.length;
        for (int i = 0; i + 3 < content.length; i++) {
            if (content[i] == '\r' && content[i + 1] == '\n' && content[i + 2] == '\r' && content[i + 3] == '\n') {
                end = i + 2;
                break;
            }
        }
        return new String(content, 0, Math.min(end, 65536), StandardCharsets.UTF_8);
    }

    @Override
    public Map<String, Integer> messagesBySenderDomain() {
        List<QueueIndex.MessageEntry> all;
        index.lock.lock();
        try {
            all = index.snapshot(null);
        } finally {
            index.lock.unlock();
        }
        Map<String, Integer> counts = new HashMap<>();
        for (QueueIndex.MessageEntry m : all) { // counted without the lock: acceptance does not wait for it
            String d = m.envelope.sender().isNullSender() ? "" : m.envelope.sender().domainKey();
            counts.merge(d, 1, Integer::sum);
        }
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        counts.entrySet().stream().sorted((a, b) -> Integer.compare(b.getValue(), a.getValue()))
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    @Override
    public List<String> queueIds(String domain, int limit) {
        List<QueueIndex.MessageEntry> all;
        index.lock.lock();
        try {
            all = index.snapshot(domain);
        } finally {
            index.lock.unlock();
        }
        return QueueIndex.oldestIds(all, limit); // sorting a million entries must not hold up acceptance
    }

    @Override
    public int flush(String domain) {
        int n;
        index.lock.lock();
        try {
            n = index.flush(domain);
        } finally {
            index.lock.unlock();
        }
        fireReady();
        return n;
    }

    @Override
    public boolean delete(String queueId) {
        CompletableFuture<Journal.Location> durable;
        index.lock.lock();
        try {
            if (index.remove(queueId) == null) {
                return false;
            }
            durable = journal.append(RecordCodec.DELETE, RecordCodec.deleteRecord(queueId), null);
        } finally {
            index.lock.unlock();
        }
        durable.join(); // an operator's delete is durable when the command returns
        return true;
    }

    @Override
    public int deleteDomain(String domain) {
        int n = 0;
        CompletableFuture<Journal.Location> last = null;
        index.lock.lock();
        try {
            for (QueueIndex.MessageEntry m : index.messagesAt(domain)) {
                QueueIndex.Slot s = m.slots.get(domain.toLowerCase(java.util.Locale.ROOT));
                if (s == null || s.state == QueueIndex.SlotState.LEASED) {
                    continue;
                }
                if (m.slots.size() == 1) {
                    index.remove(m.id);
                    last = journal.append(RecordCodec.DELETE, RecordCodec.deleteRecord(m.id), null);
                } else {
                    int[] idx = index.dropSlot(s);
                    byte[] st = new byte[idx.length];
                    java.util.Arrays.fill(st, QueueIndex.FAILED);
                    last = journal.append(RecordCodec.STATE, RecordCodec.stateRecord(m.id, s.domain, s.attempts, 0,
                            "deleted by operator", s.lastAttempt, idx, st), null);
                }
                n++;
            }
        } finally {
            index.lock.unlock();
        }
        if (last != null) {
            last.join(); // records are written in order: the last one durable means all are
        }
        return n;
    }

    @Override
    public boolean bounce(String queueId) {
        boolean ok;
        index.lock.lock();
        try {
            QueueIndex.MessageEntry m = index.get(queueId);
            ok = m != null && index.requestBounce(m, null);
        } finally {
            index.lock.unlock();
        }
        fireReady();
        return ok;
    }

    @Override
    public int bounceDomain(String domain) {
        int n = 0;
        index.lock.lock();
        try {
            for (QueueIndex.MessageEntry m : index.messagesAt(domain)) {
                index.requestBounce(m, domain.toLowerCase(java.util.Locale.ROOT));
                n++;
            }
        } finally {
            index.lock.unlock();
        }
        fireReady();
        return n;
    }

    @Override
    public boolean suspend(String domain) {
        index.lock.lock();
        try {
            boolean r = index.suspend(domain);
            saveSuspended();
            return r;
        } finally {
            index.lock.unlock();
        }
    }

    @Override
    public boolean resume(String domain) {
        boolean r;
        index.lock.lock();
        try {
            r = index.resume(domain);
            saveSuspended();
        } finally {
            index.lock.unlock();
        }
        fireReady();
        return r;
    }

    @Override
    public boolean hold(String queueId, String reason) {
        String why = holdText(reason);
        CompletableFuture<Journal.Location> durable;
        index.lock.lock();
        try {
            if (!index.hold(queueId, why)) {
                return false;
            }
            durable = journal.append(RecordCodec.HOLD, RecordCodec.holdRecord(queueId, why), null);
        } finally {
            index.lock.unlock();
        }
        durable.join(); // durable when the command returns
        return true;
    }

    /** A hold always has a reason to show (null would read as "not held"). */
    private static String holdText(String reason) {
        return reason == null || reason.isBlank() ? "held" : reason.strip();
    }

    @Override
    public boolean releaseHold(String queueId) {
        CompletableFuture<Journal.Location> durable;
        index.lock.lock();
        try {
            if (!index.release(queueId)) {
                return false;
            }
            durable = journal.append(RecordCodec.HOLD, RecordCodec.holdRecord(queueId, null), null);
        } finally {
            index.lock.unlock();
        }
        fireReady();
        durable.join();
        return true;
    }

    @Override
    public List<String> held(int limit) {
        List<QueueIndex.MessageEntry> all;
        index.lock.lock();
        try {
            all = index.heldSnapshot();
        } finally {
            index.lock.unlock();
        }
        return QueueIndex.oldestIds(all, limit);
    }

    @Override
    public List<String> suspended() {
        index.lock.lock();
        try {
            return index.suspended();
        } finally {
            index.lock.unlock();
        }
    }

    private void saveSuspended() {
        try {
            Path tmp = dir.resolve("suspended.txt.tmp");
            Files.write(tmp, index.suspended());
            Files.move(tmp, dir.resolve("suspended.txt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("Could not save the suspended domains", e);
        }
    }

    private void loadSuspended() throws IOException {
        Path f = dir.resolve("suspended.txt");
        if (Files.exists(f)) {
            for (String d : Files.readAllLines(f)) {
                if (!d.isBlank()) {
                    index.suspend(d.trim());
                }
            }
        }
    }

    // ------------------------------------------------------------------ compaction

    /**
     * Deletes leading segments with no live message. When the oldest segment is pinned by a few long-deferred messages,
     * they are copied (with their current state) into the active segment, so the old segment can go.
     */
    void compact() {
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            // order matters: a batch in flight pins the segment it started in until its messages are indexed
            int active = journal.activeSegment();
            int limit = Math.min(active, journal.writingFrom());
            List<Integer> segs = journal.segments();
            for (int seg : segs) {
                if (seg >= limit || System.nanoTime() > deadline) {
                    break;
                }
                if (!isLive(seg)) {
                    journal.deleteSegment(seg);
                    continue;
                }
                // Copy forward the few messages pinning an old segment. Always when the spool has grown large
                // (more than 8 segments behind the active one), otherwise only when little of the segment is live.
                boolean large = active - seg > 8;
                if (!relocate(seg, large)) {
                    break;
                }
                if (!isLive(seg)) {
                    journal.deleteSegment(seg);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Spool compaction failed", e);
        }
    }

    private boolean isLive(int seg) {
        index.lock.lock();
        try {
            return index.isLive(seg);
        } finally {
            index.lock.unlock();
        }
    }

    /** Copies the live messages of a segment forward; false when it was not worth it (mostly live). */
    private boolean relocate(int seg, boolean force) throws IOException {
        List<QueueIndex.MessageEntry> pinned = new ArrayList<>();
        index.lock.lock();
        try {
            index.forEachAt(seg, pinned::add);
        } finally {
            index.lock.unlock();
        }
        long liveBytes = pinned.stream().mapToLong(m -> m.contentLength).sum();
        if (!force && liveBytes > segmentSize / 4) {
            return false; // still mostly live: not worth copying yet
        }
        if (!space.hasRoomFor(liveBytes)) {
            return false; // copying needs space first: the space below the floor is kept for delivery outcomes
        }
        for (QueueIndex.MessageEntry m : pinned) {
            byte[] content = content(m);
            CompletableFuture<Journal.Location> f;
            byte[] head;
            index.lock.lock();
            try {
                if (index.get(m.id) != m) {
                    continue;
                }
                if (m.slots().stream().anyMatch(sl -> sl.state == QueueIndex.SlotState.LEASED)) {
                    // an outcome may be on its way to the journal: a copy made now would carry the old state past
                    // it, and a restart would deliver again what was delivered. The segment waits for a later run.
                    continue;
                }
                byte type = RecordCodec.messageType(m);
                head = RecordCodec.messageRecordHead(m, type, content.length);
                f = journal.append(type, head, content);
            } finally {
                index.lock.unlock();
            }
            Journal.Location loc = f.join();
            index.lock.lock();
            try {
                index.relocated(m, loc.segment(), loc.offset() + RecordCodec.HEADER + head.length);
            } finally {
                index.lock.unlock();
            }
        }
        LOG.info("Spool segment {}: relocated {} long-queued messages so the segment can be reclaimed", seg, pinned.size());
        return true;
    }
}
