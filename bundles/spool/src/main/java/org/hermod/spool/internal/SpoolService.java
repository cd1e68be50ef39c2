package org.hermod.spool.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
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
 * The spool as the rest of Hermod sees it: one component providing {@link Spool}, {@link DeliveryQueue} and
 * {@link QueueManager} over one consistent state. The parts: the group-committed {@link Journal} on disk, the
 * in-memory {@link QueueIndex} (which owns its lock and writes its changes to the journal in order), the
 * {@link JournalReplay} that rebuilds it at start, the {@link RetryTimer}, the {@link Compactor} and the
 * {@link SpaceGuard} that refuses new mail when the disk is nearly full. This class wires them and translates calls.
 */
@Component(service = {Spool.class, DeliveryQueue.class, QueueManager.class}, configurationPid = "org.hermod.spool",
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
@Designate(ocd = SpoolConfig.class)
public final class SpoolService implements Spool, DeliveryQueue, QueueManager {

    private static final Logger LOG = LoggerFactory.getLogger(SpoolService.class);

    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final QueueIndex index = new QueueIndex((type, head, content) -> this.journal.append(type, head, content),
            this::earlierDeadline);
    private final AtomicInteger idCounter = new AtomicInteger();
    /**
     * Completes the stages {@link DeliveryItem#complete} returns, so that callers' follow-up work never runs on the
     * journal's writer thread (which group-commits every accepted message).
     */
    private final ExecutorService completions = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "hermod-spool-completions");
        t.setDaemon(true);
        return t;
    });
    private volatile Journal journal;
    /** Content just stored, for its first delivery (see RecentContent); the configured budget once activated. */
    private volatile RecentContent recent = new RecentContent(DEFAULT_RECENT_CONTENT);
    static final long DEFAULT_RECENT_CONTENT = 64L * 1024 * 1024;
    private volatile RetryTimer timer;
    private ScheduledExecutorService housekeeping;
    private Compactor compactor;
    private SuspendedDomains suspendedFile;
    private SpaceGuard space;
    private final JournalHealth health = new JournalHealth();

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
        recent = new RecentContent(Math.max(0, config.recentContentMb()) * 1024L * 1024L);
        Files.createDirectories(d);
        start(d, config.segmentSizeMb() * 1024L * 1024L, config.compactIntervalSeconds(),
                SpaceGuard.forDirectory(d, Math.max(0, config.minFreeSpaceMb()) * 1024L * 1024L));
    }

    private void start(Path d, long segSize, int compactSeconds, SpaceGuard guard) throws IOException {
        Files.createDirectories(d);
        this.space = guard != null ? guard : SpaceGuard.forDirectory(d, 0);
        this.suspendedFile = new SuspendedDomains(d);
        Journal j = new Journal(d, segSize, space);
        long t0 = System.nanoTime();
        JournalReplay replay = new JournalReplay(index);
        replay.run(j);
        for (String domain : suspendedFile.load()) {
            index.suspend(domain);
        }
        journal = j;
        j.start();
        index.activateAll();
        fireReady();
        LOG.info("Spool {} opened: {} messages queued ({} records replayed) in {} ms", d, index.size(),
                replay.records(), (System.nanoTime() - t0) / 1_000_000);
        RetryTimer t = new RetryTimer(index, this::fireReady);
        timer = t;
        t.start();
        compactor = new Compactor(j, index, space, this::journalContent, segSize);
        housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "hermod-spool-compactor");
            th.setDaemon(true);
            return th;
        });
        housekeeping.scheduleWithFixedDelay(compactor::compact, compactSeconds, compactSeconds, TimeUnit.SECONDS);
    }

    private void earlierDeadline() {
        RetryTimer t = timer;
        if (t != null) {
            t.earlierDeadline();
        }
    }

    @Deactivate
    void deactivate() throws IOException {
        if (housekeeping != null) {
            housekeeping.shutdownNow();
        }
        completions.shutdown();
        if (timer != null) {
            timer.stop();
        }
        if (journal != null) {
            journal.close();
        }
    }

    /** Closes the spool (tests). */
    public void close() throws IOException {
        deactivate();
    }

    /** The journal (tests inject write faults). */
    Journal journal() {
        return journal;
    }

    /** One compaction run now (tests). */
    void compact() {
        compactor.compact();
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
        MessageEntry m = index.newEntry(id, envelope, new byte[envelope.recipients().size()], route,
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
            health.succeeded();
            if (holdReason == null) { // a held message waits for an operator: its first delivery reads the journal
                recent.put(m, content); // before the index makes it ready, so its first lease finds it
            }
            index.stored(m, loc, head.length, content.length);
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
        if (health.unhealthy(System.currentTimeMillis())) {
            return out; // the last journal write failed: what is delivered now could not be recorded
        }
        for (Slot s : index.lease(domain, max)) {
            out.add(new LeasedItem(this, s, s.pendingRecipients()));
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
     * would show; the slot stays leased meanwhile. If the write fails the slot becomes due again after a backoff (the
     * attempt is repeated: at-least-once) instead of silently forgetting the outcome, no slot is leased until the
     * backoff has passed or a spool write succeeds ({@link JournalHealth}), and the returned stage fails.
     *
     * @return completes when the outcome is durable and applied to the index
     */
    CompletableFuture<Void> complete(Slot slot, int[] idx, byte[] status, boolean countAttempt, long retryAt,
                                     String lastError) {
        if (!countAttempt && idx.length == 0) {
            index.complete(slot, idx, status, false, 0, null, 0);
            fireReady();
            return CompletableFuture.completedFuture(null);
        }
        long ended = System.currentTimeMillis();
        CompletableFuture<Journal.Location> durable = index.recordOutcome(slot, idx, status, countAttempt, retryAt,
                lastError, ended);
        CompletableFuture<Void> done = new CompletableFuture<>();
        durable.whenComplete((loc, failure) -> {
            Throwable error = failure;
            try {
                if (failure == null) {
                    health.succeeded();
                    index.complete(slot, idx, status, countAttempt, retryAt, lastError, ended);
                } else {
                    // due again only after a backoff, and no leases meanwhile: a journal that refuses every write
                    // would otherwise have delivered mail leased and delivered again in a tight loop
                    long again = health.failed(System.currentTimeMillis());
                    LOG.error("Could not record the delivery outcome of {} ({}); it will be attempted again at {}, and"
                            + " nothing is leased until then or until a spool write succeeds", slot.msg.id, slot.domain,
                            java.time.Instant.ofEpochMilli(again), failure);
                    index.complete(slot, new int[0], new byte[0], false, again, null, 0);
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
                } catch (RejectedExecutionException closed) {
                    done.completeExceptionally(t == null ? closed : t);
                }
            }
        });
        return done;
    }

    /** The copy kept since the message was stored, once; null when there is none (read the journal). */
    byte[] contentInMemory(MessageEntry m) {
        return recent.take(m);
    }

    /** A leased message's content for its delivery: the copy kept since it was stored, once, else the journal's. */
    byte[] content(MessageEntry m) throws IOException {
        byte[] kept = contentInMemory(m);
        return kept != null ? kept : journalContent(m);
    }

    /** A message's content as the journal has it (the console, compaction: they leave the kept copy to delivery). */
    byte[] journalContent(MessageEntry m) throws IOException {
        QueueIndex.ContentLocation at = index.contentLocation(m);
        return journal.read(at.segment(), at.offset(), at.length());
    }

    // ------------------------------------------------------------------ QueueManager

    @Override
    public List<DomainSummary> summaries() {
        return index.summaries();
    }

    @Override
    public Optional<MessageInfo> message(String queueId) {
        QueueIndex.Described d = index.describe(queueId);
        if (d == null) {
            return Optional.empty();
        }
        String headers;
        try {
            headers = headerSection(journalContent(d.entry()));
        } catch (IOException | RuntimeException e) {
            headers = "";
        }
        return Optional.of(new MessageInfo(queueId, d.entry().envelope, d.contentLength(), d.recipients(), headers,
                d.route(), d.holdReason()));
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
        List<MessageEntry> all = index.snapshot(null);
        Map<String, Integer> counts = new HashMap<>();
        for (MessageEntry m : all) { // counted without the lock: acceptance does not wait for it
            String d = m.envelope.sender().isNullSender() ? "" : m.envelope.sender().domainKey();
            counts.merge(d, 1, Integer::sum);
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        counts.entrySet().stream().sorted((a, b) -> Integer.compare(b.getValue(), a.getValue()))
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    @Override
    public List<String> queueIds(String domain, int limit) {
        return QueueIndex.oldestIds(index.snapshot(domain), limit); // sorted outside the lock
    }

    @Override
    public int flush(String domain) {
        int n = index.flush(domain);
        fireReady();
        return n;
    }

    @Override
    public boolean delete(String queueId) {
        CompletableFuture<Journal.Location> durable = index.delete(queueId);
        if (durable == null) {
            return false;
        }
        durable.join(); // an operator's delete is durable when the command returns
        return true;
    }

    @Override
    public int deleteDomain(String domain) {
        QueueIndex.Removal r = index.deleteDomain(domain);
        if (r.last() != null) {
            r.last().join(); // records are written in order: the last one durable means all are
        }
        return r.messages();
    }

    @Override
    public boolean bounce(String queueId) {
        boolean ok = index.bounce(queueId);
        fireReady();
        return ok;
    }

    @Override
    public int bounceDomain(String domain) {
        int n = index.bounceDomain(domain);
        fireReady();
        return n;
    }

    @Override
    public boolean suspend(String domain) {
        boolean r = index.suspend(domain);
        suspendedFile.save(index);
        return r;
    }

    @Override
    public boolean resume(String domain) {
        boolean r = index.resume(domain);
        suspendedFile.save(index);
        fireReady();
        return r;
    }

    @Override
    public List<String> suspended() {
        return index.suspended();
    }

    @Override
    public boolean hold(String queueId, String reason) {
        CompletableFuture<Journal.Location> durable = index.hold(queueId, holdText(reason));
        if (durable == null) {
            return false;
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
        CompletableFuture<Journal.Location> durable = index.release(queueId);
        if (durable == null) {
            return false;
        }
        fireReady();
        durable.join();
        return true;
    }

    @Override
    public List<String> held(int limit) {
        return QueueIndex.oldestIds(index.heldSnapshot(), limit);
    }
}
