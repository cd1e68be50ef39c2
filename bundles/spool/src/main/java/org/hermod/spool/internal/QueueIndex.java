package org.hermod.spool.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.DomainSummary;
import org.hermod.api.spool.MessageInfo;

/**
 * The in-memory queue index: every queued message, one {@link Slot} per (message, destination domain) with pending
 * recipients, per-domain ready queues, and the deferred and held slots ordered by when they are due, so that
 * {@link #wakeDue} finds them without scanning. It is rebuilt from the journal at start ({@link JournalReplay}).
 *
 * <p>Thread-safe: every method is atomic under the index's own lock, which no caller ever sees. A change that must be
 * durable (an outcome, a deletion, a hold, a copy made by compaction) is handed to the {@link RecordWriter} inside the
 * same critical section, so the journal holds the changes in the order the index made them.
 */
final class QueueIndex {

    static final byte PENDING = 0;
    static final byte DELIVERED = 1;
    static final byte FAILED = 2;


    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, MessageEntry> messages = new HashMap<>();
    private final Map<String, DomainQueue> domains = new TreeMap<>();
    private final TreeSet<Slot> timer = new TreeSet<>(Comparator.<Slot>comparingLong(s -> s.nextAttempt).thenComparingLong(s -> s.seq));
    /** Held slots by the time their message arrived: a held message still expires by age. */
    private final TreeSet<Slot> heldTimer = new TreeSet<>(Comparator.<Slot>comparingLong(s -> s.msg.arrival()).thenComparingLong(s -> s.seq));
    private final Set<MessageEntry> held = new java.util.HashSet<>();
    private final LinkedHashSet<String> readyDomains = new LinkedHashSet<>();
    private final Set<String> suspended = new TreeSet<>();
    private final Map<Integer, Integer> liveBySegment = new HashMap<>();
    private final AtomicLong seq = new AtomicLong();
    private final RecordWriter writer;
    private final Runnable earlierDeadline;
    /** How long a held message may stay queued before it is returned to its sender; 0: for ever. */
    private volatile long heldMaxAgeMillis;

    /** Appends a record to the journal; the future completes once it is durable. Must not block. */
    interface RecordWriter {
        CompletableFuture<Journal.Location> append(byte type, byte[] head, byte[] content);
    }

    /** When the next due time is now, or the retry timer is told to look again. */
    record Wake(boolean woke, long nextDue) {
    }

    /** A message as the operator sees it, taken atomically. */
    record Described(MessageEntry entry, List<MessageInfo.RecipientState> recipients, Route route, String holdReason,
                      int contentLength) {
    }

    /** Where a message's content is in the journal. */
    record ContentLocation(int segment, long offset, int length) {
    }

    /** Operator removal of a domain's mail: how many messages, and the last record (durable means all are). */
    record Removal(int messages, CompletableFuture<Journal.Location> last) {
    }

    /**
     * @param writer where durable changes go (the journal)
     * @param earlierDeadline told (under the index's lock; must not block) when a slot becomes due before the earliest
     *        time the retry timer was waiting for
     */
    QueueIndex(RecordWriter writer, Runnable earlierDeadline) {
        this.writer = writer;
        this.earlierDeadline = earlierDeadline;
    }

    /** Sets how long a message may stay held before its slots are bounced (0: never). */
    void heldMaxAge(long millis) {
        heldMaxAgeMillis = millis;
        earlierDeadline.run();
    }

    // ---------------------------------------------------------------- building

    /** Creates an entry (not yet queued). */
    MessageEntry newEntry(String id, Envelope env, byte[] status, Route route, String holdReason) {
        return new MessageEntry(id, env, status, route, holdReason);
    }

    /** Registers an entry and its slots (from replay states or fresh). */
    void put(MessageEntry m, Map<String, RecordCodec.SlotState> states, boolean queueNow) {
        lock.lock();
        try {
            MessageEntry old = messages.put(m.id, m);
            if (old != null) {
                dropSlots(old);
                held.remove(old);
                segmentRelease(old.segment);
            }
            if (m.holdReason != null) {
                held.add(m);
            }
            liveBySegment.merge(m.segment, 1, Integer::sum);
            for (int i = 0; i < m.rcptStatus.length; i++) {
                if (m.rcptStatus[i] == PENDING) {
                    String d = m.envelope.recipients().get(i).address().domainKey();
                    if (!m.slots.containsKey(d)) {
                        Slot s = new Slot(m, d, seq.incrementAndGet());
                        RecordCodec.SlotState st = states == null ? null : states.get(d);
                        if (st != null) {
                            s.attempts = st.attempts();
                            s.nextAttempt = st.nextAttempt();
                            s.lastError = st.lastError();
                            s.lastAttempt = st.lastAttempt();
                        }
                        m.slots.put(d, s);
                    }
                }
            }
            if (m.slots.isEmpty()) {
                forget(m);
                return;
            }
            if (queueNow) {
                enqueueSlots(m);
            }
        } finally {
            lock.unlock();
        }
    }

    private void enqueueSlots(MessageEntry m) {
        long now = System.currentTimeMillis();
        for (Slot s : m.slots.values()) {
            DomainQueue q = domains.computeIfAbsent(s.domain, DomainQueue::new);
            q.all.add(s);
            if (m.holdReason != null) {
                hold(q, s);
            } else if (s.nextAttempt > now) {
                defer(q, s);
            } else {
                makeReady(q, s);
            }
        }
    }

    /** After replay: queue every entry's slots. */
    void activateAll() {
        lock.lock();
        try {
            List<MessageEntry> all = new ArrayList<>(messages.values());
            all.sort(Comparator.comparingLong(MessageEntry::arrival).thenComparing(m -> m.id));
            for (MessageEntry m : all) {
                enqueueSlots(m);
            }
        } finally {
            lock.unlock();
        }
    }

    /** During replay: apply a STATE record. */
    void applyState(String id, RecordCodec.SlotState st, int[] idx, byte[] status) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            if (m == null) {
                return; // state of a message that was completed and whose segment is gone
            }
            for (int i = 0; i < idx.length; i++) {
                if (idx[i] >= 0 && idx[i] < m.rcptStatus.length) {
                    m.rcptStatus[idx[i]] = status[i];
                }
            }
            Slot s = m.slots.get(st.domain());
            if (s != null) {
                s.attempts = st.attempts();
                s.nextAttempt = st.nextAttempt();
                s.lastError = st.lastError();
                s.lastAttempt = st.lastAttempt();
                if (s.pendingRecipients().length == 0) {
                    m.slots.remove(st.domain());
                }
            }
            if (m.slots.isEmpty()) {
                forget(m);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes one slot out of the queue and marks its pending recipients failed (operator removal without notice).
     * Returns the recipient indexes changed.
     */
    private int[] dropSlot(Slot s) {
        int[] idx = s.pendingRecipients();
        for (int i : idx) {
            s.msg.rcptStatus[i] = FAILED;
        }
        unqueue(s);
        s.msg.slots.remove(s.domain);
        if (s.msg.slots.isEmpty()) {
            forget(s.msg);
        }
        return idx;
    }

    /** Removes a message entirely. */
    MessageEntry remove(String id) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            if (m != null) {
                dropSlots(m);
                forget(m);
            }
            return m;
        } finally {
            lock.unlock();
        }
    }

    /** The message leaves the index (its slots are already unqueued). */
    private void forget(MessageEntry m) {
        messages.remove(m.id);
        held.remove(m);
        segmentRelease(m.segment);
    }

    private void dropSlots(MessageEntry m) {
        for (Slot s : m.slots.values()) {
            unqueue(s);
        }
    }

    private void unqueue(Slot s) {
        DomainQueue q = domains.get(s.domain);
        if (q == null || !q.all.remove(s)) {
            return;
        }
        switch (s.state == null ? Slot.State.READY : s.state) {
            case READY -> {
                q.ready.remove(s);
                if (q.ready.isEmpty()) {
                    readyDomains.remove(q.name);
                }
            }
            case DEFERRED -> {
                timer.remove(s);
                q.deferred--;
            }
            case LEASED -> q.active--;
            case HELD -> {
                heldTimer.remove(s);
                q.held--;
            }
        }
        if (q.all.isEmpty()) {
            domains.remove(q.name);
            readyDomains.remove(q.name);
        }
    }

    private void segmentRelease(int segment) {
        liveBySegment.computeIfPresent(segment, (k, v) -> v <= 1 ? null : v - 1);
    }

    private void makeReady(DomainQueue q, Slot s) {
        s.state = Slot.State.READY;
        q.ready.add(s);
        if (!suspended.contains(q.name)) {
            readyDomains.add(q.name);
        }
    }

    private void hold(DomainQueue q, Slot s) {
        s.state = Slot.State.HELD;
        q.held++;
        Slot first = heldTimer.isEmpty() ? null : heldTimer.first();
        heldTimer.add(s);
        if (first == null || s.msg.arrival() < first.msg.arrival()) {
            earlierDeadline.run();
        }
    }

    private void defer(DomainQueue q, Slot s) {
        s.state = Slot.State.DEFERRED;
        q.deferred++;
        Slot first = timer.isEmpty() ? null : timer.first();
        timer.add(s);
        if (first == null || s.nextAttempt < first.nextAttempt) {
            earlierDeadline.run();
        }
    }

    // ---------------------------------------------------------------- delivery side

    Set<String> readyDomains() {
        lock.lock();
        try {
            return new LinkedHashSet<>(readyDomains);
        } finally {
            lock.unlock();
        }
    }

    /** Leases up to max ready slots of a domain. */
    List<Slot> lease(String domain, int max) {
        lock.lock();
        try {
            String d = domain.toLowerCase(Locale.ROOT);
            DomainQueue q = domains.get(d);
            List<Slot> out = new ArrayList<>();
            if (q == null || suspended.contains(d)) {
                return out;
            }
            while (out.size() < max && !q.ready.isEmpty()) {
                Slot s = q.ready.poll();
                s.state = Slot.State.LEASED;
                q.active++;
                out.add(s);
            }
            if (q.ready.isEmpty()) {
                readyDomains.remove(d);
            }
            // rotate so that the next dispatcher round starts with another domain
            if (readyDomains.remove(d)) {
                readyDomains.add(d);
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Ends a lease: applies recipient outcomes, then either reschedules the slot or drops it.
     *
     * @return true when the message has no pending recipient left (it leaves the spool)
     */
    boolean complete(Slot s, int[] idx, byte[] status, boolean countAttempt, long retryAt, String lastError,
                     long attemptEnded) {
        lock.lock();
        try {
            MessageEntry m = s.msg;
            if (messages.get(m.id) != m) {
                return false; // deleted while leased
            }
            for (int i = 0; i < idx.length; i++) {
                m.rcptStatus[idx[i]] = status[i];
            }
            DomainQueue q = domains.get(s.domain);
            if (q != null && s.state == Slot.State.LEASED) {
                q.active--;
                s.state = null;
            }
            if (countAttempt) {
                s.attempts++;
                s.lastAttempt = attemptEnded;
            }
            if (s.pendingRecipients().length == 0) {
                m.slots.remove(s.domain);
                if (q != null) {
                    q.all.remove(s);
                    if (q.all.isEmpty()) {
                        domains.remove(q.name);
                        readyDomains.remove(q.name);
                    }
                }
            } else if (q != null) {
                if (lastError != null) {
                    s.lastError = lastError;
                    q.lastError = lastError;
                }
                if (m.holdReason != null && !s.bounceRequested) {
                    s.nextAttempt = retryAt; // an attempt in progress when the hold came has finished: now it waits
                    hold(q, s);
                } else if (s.bounceRequested || retryAt <= System.currentTimeMillis()) {
                    s.nextAttempt = 0;
                    makeReady(q, s);
                } else {
                    s.nextAttempt = retryAt;
                    defer(q, s);
                }
            }
            if (m.slots.isEmpty()) {
                forget(m);
                return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- timer

    /**
     * Makes every deferred slot whose retry time has come due, and bounces every held slot past the held maximum age.
     *
     * @return whether any slot became due, and when the next one will (epoch millis; Long.MAX_VALUE: none)
     */
    Wake wakeDue(long now) {
        lock.lock();
        try {
            boolean woke = false;
            while (!timer.isEmpty() && timer.first().nextAttempt <= now) {
                Slot s = timer.pollFirst();
                DomainQueue q = domains.get(s.domain);
                q.deferred--;
                makeReady(q, s);
                woke = true;
            }
            long heldMax = heldMaxAgeMillis;
            while (heldMax > 0 && !heldTimer.isEmpty() && heldTimer.first().msg.arrival() + heldMax <= now) {
                Slot s = heldTimer.pollFirst();
                DomainQueue q = domains.get(s.domain);
                q.held--;
                s.bounceRequested = true; // held past its time: returned to the sender, never delivered
                makeReady(q, s);
                woke = true;
            }
            long next = timer.isEmpty() ? Long.MAX_VALUE : timer.first().nextAttempt;
            if (heldMax > 0 && !heldTimer.isEmpty()) {
                next = Math.min(next, heldTimer.first().msg.arrival() + heldMax);
            }
            return new Wake(woke, next);
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- operator side

    MessageEntry get(String id) {
        lock.lock();
        try {
            return messages.get(id);
        } finally {
            lock.unlock();
        }
    }

    int size() {
        lock.lock();
        try {
            return messages.size();
        } finally {
            lock.unlock();
        }
    }

    /** Makes deferred slots of a domain (or all) due now; returns how many. */
    int flush(String domain) {
        lock.lock();
        try {
            int n = 0;
            for (DomainQueue q : selected(domain)) {
                for (Slot s : q.all) {
                    if (s.state == Slot.State.DEFERRED) {
                        timer.remove(s);
                        q.deferred--;
                        s.nextAttempt = 0;
                        makeReady(q, s);
                        n++;
                    }
                }
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Marks a message's slots for operator bounce and makes them due. */
    private boolean requestBounce(MessageEntry m, String domain) {
        for (Slot s : m.slots.values()) {
            if (domain != null && !domain.equals(s.domain)) {
                continue;
            }
            s.bounceRequested = true;
            DomainQueue q = domains.get(s.domain);
            if (s.state == Slot.State.DEFERRED && q != null) {
                timer.remove(s);
                q.deferred--;
                makeReady(q, s);
            } else if (s.state == Slot.State.HELD && q != null) {
                heldTimer.remove(s);
                q.held--;
                makeReady(q, s);
            }
        }
        return true;
    }

    private List<MessageEntry> messagesAt(String domain) {
        List<MessageEntry> out = new ArrayList<>();
        for (DomainQueue q : selected(domain)) {
            for (Slot s : q.all) {
                out.add(s.msg);
            }
        }
        return out;
    }

    private List<DomainQueue> selected(String domain) {
        if (domain == null) {
            return new ArrayList<>(domains.values());
        }
        DomainQueue q = domains.get(domain.toLowerCase(Locale.ROOT));
        return q == null ? List.of() : List.of(q);
    }

    /**
     * Holds a message: its due and deferred slots wait (an attempt in progress finishes first); a new reason replaces
     * the old one.
     *
     * @return false when no such message is queued
     */
    private boolean holdEntry(String id, String reason) {
        MessageEntry m = messages.get(id);
        if (m == null) {
            return false;
        }
        m.holdReason = reason;
        held.add(m);
        for (Slot s : m.slots.values()) {
            DomainQueue q = domains.get(s.domain);
            if (q == null || s.state == Slot.State.LEASED || s.state == Slot.State.HELD) {
                continue;
            }
            if (s.state == Slot.State.DEFERRED) {
                timer.remove(s);
                q.deferred--;
            } else {
                q.ready.remove(s);
                if (q.ready.isEmpty()) {
                    readyDomains.remove(q.name);
                }
            }
            hold(q, s);
        }
        return true;
    }

    /** During replay: a HOLD record (reason null: released). */
    void applyHold(String id, String reason) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            if (m != null) {
                m.holdReason = reason;
                if (reason == null) {
                    held.remove(m);
                } else {
                    held.add(m);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Releases a held message: its waiting slots are due now. @return false when not held */
    private boolean releaseEntry(String id) {
        MessageEntry m = messages.get(id);
        if (m == null || m.holdReason == null) {
            return false;
        }
        m.holdReason = null;
        held.remove(m);
        for (Slot s : m.slots.values()) {
            DomainQueue q = domains.get(s.domain);
            if (q != null && s.state == Slot.State.HELD) {
                heldTimer.remove(s);
                q.held--;
                s.nextAttempt = 0;
                makeReady(q, s);
            }
        }
        return true;
    }

    /** The held messages, unsorted: a snapshot to sort outside the lock. */
    List<MessageEntry> heldSnapshot() {
        lock.lock();
        try {
            return new ArrayList<>(held);
        } finally {
            lock.unlock();
        }
    }

    boolean suspend(String domain) {
        lock.lock();
        try {
            String d = domain.toLowerCase(Locale.ROOT);
            readyDomains.remove(d);
            return suspended.add(d);
        } finally {
            lock.unlock();
        }
    }

    boolean resume(String domain) {
        lock.lock();
        try {
            String d = domain.toLowerCase(Locale.ROOT);
            boolean was = suspended.remove(d);
            DomainQueue q = domains.get(d);
            if (q != null && !q.ready.isEmpty()) {
                readyDomains.add(d);
            }
            return was;
        } finally {
            lock.unlock();
        }
    }

    List<String> suspended() {
        lock.lock();
        try {
            return new ArrayList<>(suspended);
        } finally {
            lock.unlock();
        }
    }

    List<DomainSummary> summaries() {
        lock.lock();
        try {
            List<DomainSummary> out = new ArrayList<>(domains.size());
            for (DomainQueue q : domains.values()) {
                Instant oldest = null;
                Iterator<Slot> it = q.all.iterator();
                long min = Long.MAX_VALUE;
                long nextMin = Long.MAX_VALUE;
                while (it.hasNext()) {
                    Slot s = it.next();
                    min = Math.min(min, s.msg.arrival());
                    if (s.state == Slot.State.DEFERRED) {
                        nextMin = Math.min(nextMin, s.nextAttempt);
                    }
                }
                if (min != Long.MAX_VALUE) {
                    oldest = Instant.ofEpochMilli(min);
                }
                // held mail is not ready: it counts with the mail that waits (DomainSummary has no count of its own for it)
                out.add(new DomainSummary(q.name, q.all.size(), q.deferred + q.held, q.active, suspended.contains(q.name), oldest,
                        nextMin == Long.MAX_VALUE ? null : Instant.ofEpochMilli(nextMin), q.lastError));
            }
            for (String d : suspended) {
                if (!domains.containsKey(d)) {
                    out.add(new DomainSummary(d, 0, 0, 0, true, null, null, null));
                }
            }
            out.sort(Comparator.comparing(DomainSummary::domain));
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The messages of a domain (or all), unsorted: a snapshot to sort outside the lock. */
    List<MessageEntry> snapshot(String domain) {
        lock.lock();
        try {
            return domain == null ? new ArrayList<>(messages.values()) : messagesAt(domain);
        } finally {
            lock.unlock();
        }
    }

    /** Oldest first, at most limit ids; call without the lock on a snapshot. */
    static List<String> oldestIds(List<MessageEntry> all, int limit) {
        all.sort(Comparator.comparingLong(MessageEntry::arrival).thenComparing(m -> m.id));
        List<String> out = new ArrayList<>(Math.min(limit, all.size()));
        for (MessageEntry m : all) {
            if (out.size() >= limit) {
                break;
            }
            out.add(m.id);
        }
        return out;
    }

    boolean isLive(int segment) {
        lock.lock();
        try {
            return liveBySegment.containsKey(segment);
        } finally {
            lock.unlock();
        }
    }

    /** The messages whose record (and content) is in a segment. */
    List<MessageEntry> messagesInSegment(int segment) {
        lock.lock();
        try {
            List<MessageEntry> out = new ArrayList<>();
            for (MessageEntry m : messages.values()) {
                if (m.segment == segment) {
                    out.add(m);
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Moves an entry's content location (after relocation); the caller accounts for segment liveness. */
    void relocated(MessageEntry m, int segment, long offset) {
        lock.lock();
        try {
            if (messages.get(m.id) != m) {
                return;
            }
            segmentRelease(m.segment);
            m.segment = segment;
            m.contentOffset = offset;
            liveBySegment.merge(segment, 1, Integer::sum);
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- durable changes (journal written in order)

    /** A fresh message is on disk at {@code loc}: index and queue it. */
    void stored(MessageEntry m, Journal.Location loc, int headLength, int contentLength) {
        lock.lock();
        try {
            m.segment = loc.segment();
            m.contentOffset = loc.offset() + RecordCodec.HEADER + headLength;
            m.contentLength = contentLength;
            put(m, null, true);
        } finally {
            lock.unlock();
        }
    }

    /** Where a message's content is, read atomically (compaction may move it). */
    ContentLocation contentLocation(MessageEntry m) {
        lock.lock();
        try {
            return new ContentLocation(m.segment, m.contentOffset, m.contentLength);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Writes the outcome of a lease (recipient results and the slot's new retry state); the slot stays leased until
     * {@link #complete} applies it once durable.
     */
    CompletableFuture<Journal.Location> recordOutcome(Slot slot, int[] idx, byte[] status, boolean countAttempt,
                                                      long retryAt, String lastError, long ended) {
        lock.lock();
        try {
            int attempts = slot.attempts + (countAttempt ? 1 : 0);
            String err = lastError != null ? lastError : slot.lastError;
            return writer.append(RecordCodec.STATE, RecordCodec.stateRecord(slot.msg.id, slot.domain, attempts,
                    retryAt, err, countAttempt ? ended : slot.lastAttempt, idx, status), null);
        } finally {
            lock.unlock();
        }
    }

    /** Removes a message without notice; null when no such message is queued, else the durable deletion. */
    CompletableFuture<Journal.Location> delete(String id) {
        lock.lock();
        try {
            if (!messages.containsKey(id)) {
                return null;
            }
            // removed from memory only once the deletion is durable: if the write fails the message stays queued, as
            // it would after a restart
            return writer.append(RecordCodec.DELETE, RecordCodec.deleteRecord(id), null).thenApply(loc -> {
                remove(id);
                return loc;
            });
        } finally {
            lock.unlock();
        }
    }

    /** Removes every recipient at a domain without notice, except slots leased right now. */
    Removal deleteDomain(String domain) {
        lock.lock();
        try {
            int n = 0;
            CompletableFuture<Journal.Location> last = null;
            for (MessageEntry m : messagesAt(domain)) {
                Slot s = m.slots.get(domain.toLowerCase(Locale.ROOT));
                if (s == null || s.state == Slot.State.LEASED) {
                    continue;
                }
                if (m.slots.size() == 1) {
                    remove(m.id);
                    last = writer.append(RecordCodec.DELETE, RecordCodec.deleteRecord(m.id), null);
                } else {
                    int[] idx = dropSlot(s);
                    byte[] st = new byte[idx.length];
                    java.util.Arrays.fill(st, FAILED);
                    last = writer.append(RecordCodec.STATE, RecordCodec.stateRecord(m.id, s.domain, s.attempts, 0,
                            "deleted by operator", s.lastAttempt, idx, st), null);
                }
                n++;
            }
            return new Removal(n, last);
        } finally {
            lock.unlock();
        }
    }

    /** Marks a message for bounce and makes it due; false when no such message is queued. */
    boolean bounce(String id) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            return m != null && requestBounce(m, null);
        } finally {
            lock.unlock();
        }
    }

    /** Marks every message of a domain for bounce; returns how many. */
    int bounceDomain(String domain) {
        lock.lock();
        try {
            int n = 0;
            for (MessageEntry m : messagesAt(domain)) {
                requestBounce(m, domain.toLowerCase(Locale.ROOT));
                n++;
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Holds a message (durably); null when no such message is queued. */
    CompletableFuture<Journal.Location> hold(String id, String reason) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            String before = m == null ? null : m.holdReason;
            if (!holdEntry(id, reason)) {
                return null;
            }
            return undoIfNotDurable(writer.append(RecordCodec.HOLD, RecordCodec.holdRecord(id, reason), null), id,
                    before);
        } finally {
            lock.unlock();
        }
    }

    /** Releases a held message (durably); null when it was not held. */
    CompletableFuture<Journal.Location> release(String id) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            String before = m == null ? null : m.holdReason;
            if (!releaseEntry(id)) {
                return null;
            }
            return undoIfNotDurable(writer.append(RecordCodec.HOLD, RecordCodec.holdRecord(id, null), null), id,
                    before);
        } finally {
            lock.unlock();
        }
    }

    /**
     * An operator's hold or release changes memory at once (so that nothing is leased meanwhile); when its record
     * cannot be written, the message goes back to the hold state it had ({@code before}; null: not held), which is
     * what a restart would show.
     */
    private CompletableFuture<Journal.Location> undoIfNotDurable(CompletableFuture<Journal.Location> durable, String id,
                                                                 String before) {
        return durable.whenComplete((loc, failure) -> {
            if (failure == null) {
                return;
            }
            lock.lock();
            try {
                MessageEntry m = messages.get(id);
                if (m == null || java.util.Objects.equals(m.holdReason, before)) {
                    return;
                }
                if (before == null) {
                    releaseEntry(id);
                } else {
                    holdEntry(id, before);
                }
            } finally {
                lock.unlock();
            }
        });
    }

    /** A message's details for the operator, or null when it is not queued. */
    Described describe(String id) {
        lock.lock();
        try {
            MessageEntry m = messages.get(id);
            if (m == null) {
                return null;
            }
            List<MessageInfo.RecipientState> states = new ArrayList<>();
            for (int i = 0; i < m.rcptStatus.length; i++) {
                String addr = m.envelope.recipients().get(i).address().toString();
                Slot s = m.slots.get(m.envelope.recipients().get(i).address().domainKey());
                MessageInfo.State state;
                if (m.rcptStatus[i] == DELIVERED) {
                    state = MessageInfo.State.DELIVERED;
                } else if (m.rcptStatus[i] == FAILED) {
                    state = MessageInfo.State.FAILED;
                } else if (s != null && s.state == Slot.State.LEASED) {
                    state = MessageInfo.State.ACTIVE;
                } else if (m.holdReason != null || (s != null && suspended.contains(s.domain))) {
                    state = MessageInfo.State.HELD;
                } else if (s != null && s.state == Slot.State.DEFERRED) {
                    state = MessageInfo.State.DEFERRED;
                } else {
                    state = MessageInfo.State.QUEUED;
                }
                states.add(new MessageInfo.RecipientState(addr, state, s == null ? 0 : s.attempts,
                        s == null || s.nextAttempt == 0 ? null : Instant.ofEpochMilli(s.nextAttempt),
                        s == null ? null : s.lastError));
            }
            return new Described(m, states, m.route, m.holdReason, m.contentLength);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Compaction: writes a copy of a message with its current state (content given) to the journal, unless the
     * message left meanwhile or has a slot leased (an outcome may be on its way: a copy made now would carry the old
     * state past it, and a restart would deliver again what was delivered).
     *
     * @return the copy's write and its head length, or null when no copy was made
     */
    Copy copyForward(MessageEntry m, byte[] content) throws java.io.IOException {
        lock.lock();
        try {
            if (messages.get(m.id) != m
                    || m.slots.values().stream().anyMatch(sl -> sl.state == Slot.State.LEASED)) {
                return null;
            }
            byte type = RecordCodec.messageType(m);
            byte[] head = RecordCodec.messageRecordHead(m, type, content.length);
            return new Copy(writer.append(type, head, content), head.length);
        } finally {
            lock.unlock();
        }
    }

    /** A copy of a message on its way to the journal. */
    record Copy(CompletableFuture<Journal.Location> written, int headLength) {
    }
}
