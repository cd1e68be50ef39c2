package org.hermod.spool.internal;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.hermod.api.Envelope;
import org.hermod.api.Recipient;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.DomainSummary;

/**
 * The in-memory queue index: every queued message, one {@link Slot} per (message, destination domain) with pending
 * recipients, per-domain ready queues, and a timer ordered by next attempt so that due slots are woken without scanning.
 * It is rebuilt from the journal at start. All access goes through {@link #lock}.
 */
final class QueueIndex {

    static final byte PENDING = 0;
    static final byte DELIVERED = 1;
    static final byte FAILED = 2;

    /** HELD: the message is on hold; the slot waits for a release (or its hold expiry) outside the ready queue. */
    enum SlotState { READY, DEFERRED, LEASED, HELD }

    final ReentrantLock lock = new ReentrantLock();
    private final Condition timerChanged = lock.newCondition();
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
    private final Runnable readyHook;
    private volatile boolean timerRunning = true;
    /** How long a held message may stay queued before it is returned to its sender; 0: for ever. */
    private volatile long heldMaxAgeMillis;

    QueueIndex(Runnable readyHook) {
        this.readyHook = readyHook;
    }

    /** Sets how long a message may stay held before its slots are bounced (0: never). */
    void heldMaxAge(long millis) {
        heldMaxAgeMillis = millis;
        lock.lock();
        try {
            timerChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** One queued message. */
    final class MessageEntry {
        final String id;
        final Envelope envelope;
        final byte[] rcptStatus;
        final Map<String, Slot> slots = new LinkedHashMap<>();
        final Route route;
        /** Why the message is held; null when it is not. */
        String holdReason;
        int segment;
        long contentOffset;
        int contentLength;

        MessageEntry(String id, Envelope envelope, byte[] rcptStatus, Route route, String holdReason) {
            this.id = id;
            this.envelope = envelope;
            this.rcptStatus = rcptStatus;
            this.route = route == null ? Route.DEFAULT : route;
            this.holdReason = holdReason;
        }

        List<Slot> slots() {
            return new ArrayList<>(slots.values());
        }

        long arrival() {
            return envelope.receivedAt().toEpochMilli();
        }
    }

    /** A message's pending recipients at one domain: the unit of scheduling and leasing. */
    final class Slot {
        final MessageEntry msg;
        final String domain;
        final long seq = QueueIndex.this.seq.incrementAndGet();
        int attempts;
        long nextAttempt;
        /** Epoch millis when the last attempt ended; 0 when none. */
        long lastAttempt;
        String lastError;
        SlotState state;
        boolean bounceRequested;

        Slot(MessageEntry msg, String domain) {
            this.msg = msg;
            this.domain = domain;
        }

        /** Indexes of the message's recipients at this domain that are still pending. */
        int[] pendingRecipients() {
            List<Recipient> r = msg.envelope.recipients();
            int n = 0;
            int[] tmp = new int[r.size()];
            for (int i = 0; i < r.size(); i++) {
                if (msg.rcptStatus[i] == PENDING && r.get(i).address().domainKey().equals(domain)) {
                    tmp[n++] = i;
                }
            }
            return java.util.Arrays.copyOf(tmp, n);
        }
    }

    /** One destination domain's queue. */
    static final class DomainQueue {
        final String name;
        /** Due slots by route priority, highest first; oldest first within one priority. */
        final ReadyQueue ready = new ReadyQueue();
        final LinkedHashSet<Slot> all = new LinkedHashSet<>();
        int deferred;
        int held;
        int active;
        String lastError;

        DomainQueue(String name) {
            this.name = name;
        }
    }

    // ---------------------------------------------------------------- building

    /** Creates an entry (not yet queued). */
    MessageEntry newEntry(String id, Envelope env, byte[] status, Route route, String holdReason) {
        return new MessageEntry(id, env, status, route, holdReason);
    }

    /** Registers an entry and its slots (from replay states or fresh). Caller holds the lock. */
    void put(MessageEntry m, Map<String, RecordCodec.SlotState> states, boolean queueNow) {
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
                    Slot s = new Slot(m, d);
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
        readyHook.run();
    }

    /** During replay: apply a STATE record. Caller holds the lock. */
    void applyState(String id, RecordCodec.SlotState st, int[] idx, byte[] status) {
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
    }

    /**
     * Takes one slot out of the queue and marks its pending recipients failed (operator removal without notice).
     * Returns the recipient indexes changed. Caller holds the lock.
     */
    int[] dropSlot(Slot s) {
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

    /** Removes a message entirely. Caller holds the lock. */
    MessageEntry remove(String id) {
        MessageEntry m = messages.get(id);
        if (m != null) {
            dropSlots(m);
            forget(m);
        }
        return m;
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
        switch (s.state == null ? SlotState.READY : s.state) {
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
        s.state = SlotState.READY;
        q.ready.add(s);
        if (!suspended.contains(q.name)) {
            readyDomains.add(q.name);
        }
    }

    private void hold(DomainQueue q, Slot s) {
        s.state = SlotState.HELD;
        q.held++;
        Slot first = heldTimer.isEmpty() ? null : heldTimer.first();
        heldTimer.add(s);
        if (first == null || s.msg.arrival() < first.msg.arrival()) {
            timerChanged.signalAll();
        }
    }

    private void defer(DomainQueue q, Slot s) {
        s.state = SlotState.DEFERRED;
        q.deferred++;
        Slot first = timer.isEmpty() ? null : timer.first();
        timer.add(s);
        if (first == null || s.nextAttempt < first.nextAttempt) {
            timerChanged.signalAll();
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

    /** Leases up to max ready slots of a domain. Caller holds the lock. */
    List<Slot> lease(String domain, int max) {
        String d = domain.toLowerCase(Locale.ROOT);
        DomainQueue q = domains.get(d);
        List<Slot> out = new ArrayList<>();
        if (q == null || suspended.contains(d)) {
            return out;
        }
        while (out.size() < max && !q.ready.isEmpty()) {
            Slot s = q.ready.poll();
            s.state = SlotState.LEASED;
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
    }

    /**
     * Ends a lease: applies recipient outcomes, then either reschedules the slot or drops it. Caller holds the lock.
     *
     * @return true when the message has no pending recipient left (it leaves the spool)
     */
    boolean complete(Slot s, int[] idx, byte[] status, boolean countAttempt, long retryAt, String lastError,
                     long attemptEnded) {
        MessageEntry m = s.msg;
        if (messages.get(m.id) != m) {
            return false; // deleted while leased
        }
        for (int i = 0; i < idx.length; i++) {
            m.rcptStatus[idx[i]] = status[i];
        }
        DomainQueue q = domains.get(s.domain);
        if (q != null && s.state == SlotState.LEASED) {
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
    }

    // ---------------------------------------------------------------- timer

    /** The timer loop: wakes deferred slots when due. Runs until {@link #stopTimer()}. */
    void runTimer() {
        while (timerRunning) {
            boolean woke = false;
            lock.lock();
            try {
                long now = System.currentTimeMillis();
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
                if (!woke) {
                    long wait = timer.isEmpty() ? 1000 : Math.min(1000, timer.first().nextAttempt - now);
                    if (heldMax > 0 && !heldTimer.isEmpty()) {
                        wait = Math.min(wait, heldTimer.first().msg.arrival() + heldMax - now);
                    }
                    timerChanged.await(Math.max(1, wait), TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                lock.unlock();
            }
            if (woke) {
                readyHook.run();
            }
        }
    }

    void stopTimer() {
        timerRunning = false;
        lock.lock();
        try {
            timerChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- operator side (caller holds the lock)

    MessageEntry get(String id) {
        return messages.get(id);
    }

    int size() {
        return messages.size();
    }

    /** Makes deferred slots of a domain (or all) due now; returns how many. */
    int flush(String domain) {
        int n = 0;
        for (DomainQueue q : selected(domain)) {
            for (Slot s : q.all) {
                if (s.state == SlotState.DEFERRED) {
                    timer.remove(s);
                    q.deferred--;
                    s.nextAttempt = 0;
                    makeReady(q, s);
                    n++;
                }
            }
        }
        return n;
    }

    /** Marks a message's slots for operator bounce and makes them due. */
    boolean requestBounce(MessageEntry m, String domain) {
        for (Slot s : m.slots.values()) {
            if (domain != null && !domain.equals(s.domain)) {
                continue;
            }
            s.bounceRequested = true;
            DomainQueue q = domains.get(s.domain);
            if (s.state == SlotState.DEFERRED && q != null) {
                timer.remove(s);
                q.deferred--;
                makeReady(q, s);
            } else if (s.state == SlotState.HELD && q != null) {
                heldTimer.remove(s);
                q.held--;
                makeReady(q, s);
            }
        }
        return true;
    }

    List<MessageEntry> messagesAt(String domain) {
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
     * the old one. Caller holds the lock.
     *
     * @return false when no such message is queued
     */
    boolean hold(String id, String reason) {
        MessageEntry m = messages.get(id);
        if (m == null) {
            return false;
        }
        m.holdReason = reason;
        held.add(m);
        for (Slot s : m.slots.values()) {
            DomainQueue q = domains.get(s.domain);
            if (q == null || s.state == SlotState.LEASED || s.state == SlotState.HELD) {
                continue;
            }
            if (s.state == SlotState.DEFERRED) {
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

    /** During replay: a HOLD record (reason null: released). Caller holds the lock. */
    void applyHold(String id, String reason) {
        MessageEntry m = messages.get(id);
        if (m != null) {
            m.holdReason = reason;
            if (reason == null) {
                held.remove(m);
            } else {
                held.add(m);
            }
        }
    }

    /** Releases a held message: its waiting slots are due now. Caller holds the lock. @return false when not held */
    boolean release(String id) {
        MessageEntry m = messages.get(id);
        if (m == null || m.holdReason == null) {
            return false;
        }
        m.holdReason = null;
        held.remove(m);
        for (Slot s : m.slots.values()) {
            DomainQueue q = domains.get(s.domain);
            if (q != null && s.state == SlotState.HELD) {
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
        return new ArrayList<>(held);
    }

    boolean suspend(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        readyDomains.remove(d);
        return suspended.add(d);
    }

    boolean resume(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        boolean was = suspended.remove(d);
        DomainQueue q = domains.get(d);
        if (q != null && !q.ready.isEmpty()) {
            readyDomains.add(d);
        }
        return was;
    }

    List<String> suspended() {
        return new ArrayList<>(suspended);
    }

    List<DomainSummary> summaries() {
        List<DomainSummary> out = new ArrayList<>(domains.size());
        for (DomainQueue q : domains.values()) {
            Instant oldest = null;
            Iterator<Slot> it = q.all.iterator();
            long min = Long.MAX_VALUE;
            long nextMin = Long.MAX_VALUE;
            while (it.hasNext()) {
                Slot s = it.next();
                min = Math.min(min, s.msg.arrival());
                if (s.state == SlotState.DEFERRED) {
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
    }

    /** The messages of a domain (or all), unsorted: a snapshot to sort outside the lock. */
    List<MessageEntry> snapshot(String domain) {
        return domain == null ? new ArrayList<>(messages.values()) : messagesAt(domain);
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
        return liveBySegment.containsKey(segment);
    }

    void forEachAt(int segment, Consumer<MessageEntry> c) {
        for (MessageEntry m : new ArrayList<>(messages.values())) {
            if (m.segment == segment) {
                c.accept(m);
            }
        }
    }

    /** Moves an entry's content location (after relocation); the caller accounts for segment liveness. */
    void relocated(MessageEntry m, int segment, long offset) {
        if (messages.get(m.id) != m) {
            return;
        }
        segmentRelease(m.segment);
        m.segment = segment;
        m.contentOffset = offset;
        liveBySegment.merge(segment, 1, Integer::sum);
    }
}
