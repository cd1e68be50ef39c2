package org.hermod.delivery.internal.testing;

import org.hermod.api.routing.Route;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.Envelope;
import org.hermod.api.spool.Spool;

/** Records what is stored (DSNs) in memory (test only). */
public final class TestSpool implements Spool {

    public record Stored(String id, Envelope envelope, byte[] content) {
    }

    public final LinkedBlockingQueue<Stored> stored = new LinkedBlockingQueue<>();
    private final AtomicInteger ids = new AtomicInteger();
    /** When set, every store fails with it (nothing is recorded). */
    public volatile RuntimeException failure;

    @Override
    public CompletableFuture<String> store(Envelope envelope, byte[] content) {
        return store(newQueueId(), envelope, content);
    }

    @Override
    public CompletableFuture<String> store(String queueId, Envelope envelope, byte[] content) {
        RuntimeException f = failure;
        if (f != null) {
            return CompletableFuture.failedFuture(f);
        }
        stored.add(new Stored(queueId, envelope, content));
        return CompletableFuture.completedFuture(queueId);
    }

    @Override
    public CompletableFuture<String> store(String queueId, Envelope envelope, Route route, String holdReason,
                                           byte[] content) {
        return store(queueId, envelope, content);
    }

    @Override
    public String newQueueId() {
        return "DSN" + ids.incrementAndGet();
    }
}
