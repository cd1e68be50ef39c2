package org.hermod.delivery.internal.testing;

import org.hermod.api.routing.Route;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.Envelope;
import org.hermod.api.Recipient;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.api.spool.RecipientResult;

/**
 * An in-memory delivery queue for the delivery tests. It keeps the queue contract ({@code FakeQueueContractTest} runs
 * {@code DeliveryQueueContract} against it): per-domain ready queues oldest first, leases that end once, deferred
 * recipients due again at their retry time, release without an attempt, suspension. What it adds for tests: items can
 * be queued with a history (attempts, last attempt, operator bounce), and each exposes its first completion.
 */
public final class FakeQueue implements DeliveryQueue, AutoCloseable {

    /** The first completion of an item's lease. */
    public record Completion(List<RecipientResult> results, Instant retryAt) {
    }

    private final Map<String, ArrayDeque<Item>> ready = new LinkedHashMap<>();
    private final Set<String> suspended = new HashSet<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-queue-timer");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger ids = new AtomicInteger();
    /** The most items leased at the same time. */
    public final AtomicInteger maxLeasedAtOnce = new AtomicInteger();
    private int leasedNow; // guarded by this

    /** One message's pending recipients at one domain (what the spool calls a slot). */
    public final class Item {
        final String id;
        final String domain;
        final Envelope envelope;
        final byte[] content;
        final Instant arrival;
        final boolean bounce;
        final long seq;
        List<Recipient> pending; // guarded by FakeQueue.this
        int attempts;
        Instant lastAttempt;
        /** The first completion of a lease of this item. */
        public final CompletableFuture<Completion> completed = new CompletableFuture<>();
        /** Whether a lease of this item was released. */
        public volatile boolean released;
        /** The route stored with the message (set it before the item is leased). */
        public volatile Route route = Route.DEFAULT;

        Item(String id, String domain, Envelope envelope, byte[] content, Instant arrival, int attempts,
             Instant lastAttempt, boolean bounce) {
            this.id = id;
            this.domain = domain;
            this.envelope = envelope;
            this.content = content;
            this.arrival = arrival;
            this.attempts = attempts;
            this.lastAttempt = lastAttempt;
            this.bounce = bounce;
            this.seq = ids.incrementAndGet();
            this.pending = new ArrayList<>();
            for (Recipient r : envelope.recipients()) {
                if (r.address().domainKey().equals(domain)) {
                    pending.add(r);
                }
            }
        }
    }

    private final class Lease implements DeliveryItem {
        private final Item item;
        private final Envelope envelope;
        private final int attempts;
        private final Instant lastAttempt;
        private boolean ended; // guarded by FakeQueue.this

        Lease(Item item) {
            this.item = item;
            this.envelope = item.envelope.withRecipients(List.copyOf(item.pending));
            this.attempts = item.attempts;
            this.lastAttempt = item.lastAttempt;
        }

        @Override
        public String queueId() {
            return item.id;
        }

        @Override
        public String domain() {
            return item.domain;
        }

        @Override
        public Envelope envelope() {
            return envelope;
        }

        @Override
        public int attempts() {
            return attempts;
        }

        @Override
        public Instant lastAttempt() {
            return lastAttempt;
        }

        @Override
        public Route route() {
            return item.route;
        }

        @Override
        public Instant arrival() {
            return item.arrival;
        }

        @Override
        public long size() {
            return item.content.length;
        }

        @Override
        public boolean bounceRequested() {
            return item.bounce;
        }

        @Override
        public byte[] content() throws IOException {
            return item.content.clone();
        }

        @Override
        public CompletionStage<Void> complete(List<RecipientResult> results, Instant retryAt) {
            boolean again;
            synchronized (FakeQueue.this) {
                if (ended) {
                    return CompletableFuture.failedFuture(new IllegalStateException("lease of " + item.id + " already ended"));
                }
                long decided = results.stream().filter(r -> r.status() != RecipientResult.Status.DEFERRED).count();
                if (retryAt == null && decided < envelope.recipients().size()) {
                    throw new IllegalArgumentException("recipients that stay pending need a retry time");
                }
                ended = true;
                leasedNow--;
                item.attempts++;
                item.lastAttempt = Instant.now();
                for (RecipientResult r : results) {
                    if (r.status() != RecipientResult.Status.DEFERRED) {
                        item.pending.remove(r.recipient());
                    }
                }
                again = !item.pending.isEmpty();
            }
            item.completed.complete(new Completion(results, retryAt));
            if (again) {
                readyAt(item, retryAt);
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public boolean release() {
            synchronized (FakeQueue.this) {
                if (ended) {
                    return false;
                }
                ended = true;
                leasedNow--;
            }
            item.released = true;
            makeReady(item);
            return true;
        }

        @Override
        public boolean isLeased() {
            synchronized (FakeQueue.this) {
                return !ended;
            }
        }
    }

    /** Queues a new message (as the spool stores one): one item per destination domain. */
    public List<Item> store(Envelope envelope, byte[] content) {
        String id = "F" + ids.incrementAndGet();
        Set<String> domains = new TreeSet<>();
        envelope.recipients().forEach(r -> domains.add(r.address().domainKey()));
        List<Item> out = new ArrayList<>();
        for (String d : domains) {
            Item item = new Item(id, d, envelope, content, envelope.receivedAt(), 0, null, false);
            out.add(item);
            makeReady(item);
        }
        return out;
    }

    /** Queues a message for the domain of its first recipient, as if it had been tried {@code attempts} times. */
    public Item add(String id, Envelope envelope, byte[] content, Instant arrival, int attempts, boolean bounce) {
        return add(id, envelope, content, arrival, attempts, attempts == 0 ? null : Instant.now(), bounce);
    }

    /** As {@link #add(String, Envelope, byte[], Instant, int, boolean)} with the time the last attempt ended. */
    public Item add(String id, Envelope envelope, byte[] content, Instant arrival, int attempts, Instant lastAttempt,
                    boolean bounce) {
        Item item = new Item(id, envelope.recipients().get(0).address().domainKey(), envelope, content, arrival, attempts,
                lastAttempt, bounce);
        makeReady(item);
        return item;
    }

    /** Queues a new message with a route, for the domain of its first recipient. */
    public Item addRouted(String id, Envelope envelope, byte[] content, Route route) {
        Item item = new Item(id, envelope.recipients().get(0).address().domainKey(), envelope, content, Instant.now(), 0,
                null, false);
        item.route = route;
        makeReady(item);
        return item;
    }

    /** Makes the item ready once the wall clock has reached {@code at} (the timer may fire a little early). */
    private void readyAt(Item item, Instant at) {
        long wait = at == null ? 0 : Duration.between(Instant.now(), at).toNanos();
        if (wait <= 0) {
            makeReady(item);
        } else {
            timer.schedule(() -> readyAt(item, at), wait, TimeUnit.NANOSECONDS);
        }
    }

    private void makeReady(Item item) {
        synchronized (this) {
            ArrayDeque<Item> q = ready.computeIfAbsent(item.domain, d -> new ArrayDeque<>());
            // oldest first: a released or retried item goes back in front of newer ones
            List<Item> all = new ArrayList<>(q);
            all.add(item);
            all.sort((a, b) -> Long.compare(a.seq, b.seq));
            q.clear();
            q.addAll(all);
        }
        listeners.forEach(Runnable::run);
    }

    public synchronized boolean suspend(String domain) {
        return suspended.add(domain.toLowerCase(Locale.ROOT));
    }

    public boolean resume(String domain) {
        boolean was;
        synchronized (this) {
            was = suspended.remove(domain.toLowerCase(Locale.ROOT));
        }
        listeners.forEach(Runnable::run);
        return was;
    }

    @Override
    public synchronized Set<String> readyDomains() {
        Set<String> out = new TreeSet<>();
        ready.forEach((d, q) -> {
            if (!q.isEmpty() && !suspended.contains(d)) {
                out.add(d);
            }
        });
        return out;
    }

    @Override
    public synchronized List<DeliveryItem> lease(String domain, int max) {
        List<DeliveryItem> out = new ArrayList<>();
        String d = domain.toLowerCase(Locale.ROOT);
        ArrayDeque<Item> q = ready.get(d);
        if (suspended.contains(d)) {
            return out;
        }
        while (q != null && !q.isEmpty() && out.size() < max) {
            out.add(new Lease(q.poll()));
            maxLeasedAtOnce.accumulateAndGet(++leasedNow, Math::max);
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

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
