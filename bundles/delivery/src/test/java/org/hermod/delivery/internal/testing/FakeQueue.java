package org.hermod.delivery.internal.testing;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.Envelope;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.api.spool.RecipientResult;

/** An in-memory stand-in for the spool's delivery queue (test only). */
public final class FakeQueue implements DeliveryQueue {

    public record Completion(List<RecipientResult> results, Instant retryAt) {
    }

    private final Map<String, ArrayDeque<Item>> ready = new HashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    public final AtomicInteger maxLeasedAtOnce = new AtomicInteger();
    private final AtomicInteger leased = new AtomicInteger();

    public final class Item implements DeliveryItem {
        final String id;
        final Envelope envelope;
        final byte[] content;
        final Instant arrival;
        final int attempts;
        final boolean bounce;
        public final CompletableFuture<Completion> completed = new CompletableFuture<>();
        public volatile boolean released;

        Item(String id, Envelope envelope, byte[] content, Instant arrival, int attempts, boolean bounce) {
            this.id = id;
            this.envelope = envelope;
            this.content = content;
            this.arrival = arrival;
            this.attempts = attempts;
            this.bounce = bounce;
        }

        @Override
        public String queueId() {
            return id;
        }

        @Override
        public String domain() {
            return envelope.recipients().get(0).address().domainKey();
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
        public Instant arrival() {
            return arrival;
        }

        @Override
        public long size() {
            return content.length;
        }

        @Override
        public boolean bounceRequested() {
            return bounce;
        }

        @Override
        public byte[] content() throws IOException {
            return content.clone();
        }

        @Override
        public void complete(List<RecipientResult> results, Instant retryAt) {
            leased.decrementAndGet();
            if (!completed.complete(new Completion(results, retryAt))) {
                throw new IllegalStateException("completed twice");
            }
        }

        @Override
        public void release() {
            leased.decrementAndGet();
            released = true;
        }
    }

    public Item add(String id, Envelope envelope, byte[] content, Instant arrival, int attempts, boolean bounce) {
        Item item = new Item(id, envelope, content, arrival, attempts, bounce);
        synchronized (this) {
            ready.computeIfAbsent(item.domain(), d -> new ArrayDeque<>()).add(item);
        }
        listeners.forEach(Runnable::run);
        return item;
    }

    @Override
    public synchronized Set<String> readyDomains() {
        Set<String> out = new TreeSet<>();
        ready.forEach((d, q) -> {
            if (!q.isEmpty()) {
                out.add(d);
            }
        });
        return out;
    }

    @Override
    public synchronized List<DeliveryItem> lease(String domain, int max) {
        List<DeliveryItem> out = new ArrayList<>();
        ArrayDeque<Item> q = ready.get(domain);
        while (q != null && !q.isEmpty() && out.size() < max) {
            out.add(q.poll());
            maxLeasedAtOnce.accumulateAndGet(leased.incrementAndGet(), Math::max);
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
}
