package org.hermod.smtp.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.hermod.smtp.internal.RecipientVerifier.Result;
import org.hermod.smtp.internal.RecipientVerifier.Verdict;

/**
 * Runs slow recipient checks (an SMTP callout, an LDAP search) on a small bounded pool of worker threads, never on an
 * event loop, and caches their answers: a valid recipient for {@code positiveTtl}, an unknown one for
 * {@code negativeTtl}; "cannot tell now" is not cached. Concurrent checks of one key share one run. A full queue, and
 * {@link #close()}, answer {@code TRY_LATER} at once, so no session ever waits on a check that will not run. Idle
 * worker threads end after a minute, so an instance replaced by a configuration change needs no close: it serves the
 * sessions that still hold it and is then collected.
 */
final class VerdictCache {

    private static final int MAX_CACHED = 100_000;

    private record Cached(Verdict verdict, long expires) {
    }

    private final long positiveTtlNanos;
    private final long negativeTtlNanos;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<Verdict>> inFlight = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor workers;
    private volatile boolean closed;

    VerdictCache(String threadName, int threads, int queue, long positiveTtlSeconds, long negativeTtlSeconds,
                 LongSupplier clock) {
        this.positiveTtlNanos = TimeUnit.SECONDS.toNanos(positiveTtlSeconds);
        this.negativeTtlNanos = TimeUnit.SECONDS.toNanos(negativeTtlSeconds);
        this.clock = clock;
        this.workers = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(queue),
                r -> {
                    Thread t = new Thread(r, threadName);
                    t.setDaemon(true);
                    t.setContextClassLoader(null); // JNDI loads its providers through it: the JDK's own, not a bundle's
                    return t;
                });
        workers.allowCoreThreadTimeOut(true);
    }

    /** The cached verdict for {@code key}, else {@code check}'s, run on a worker. Never completes exceptionally. */
    CompletionStage<Verdict> get(String key, Supplier<Verdict> check) {
        Cached c = cache.get(key);
        if (c != null && clock.getAsLong() - c.expires() < 0) {
            return CompletableFuture.completedFuture(c.verdict());
        }
        CompletableFuture<Verdict> mine = new CompletableFuture<>();
        CompletableFuture<Verdict> running = inFlight.putIfAbsent(key, mine);
        if (running != null) {
            return running;
        }
        try {
            workers.execute(() -> {
                Verdict v;
                try {
                    v = check.get();
                } catch (RuntimeException | LinkageError e) {
                    v = new Verdict(Result.TRY_LATER, e.toString());
                }
                long ttl = v.result() == Result.VALID ? positiveTtlNanos
                        : v.result() == Result.UNKNOWN_USER ? negativeTtlNanos : 0;
                if (ttl > 0 && !closed) {
                    if (cache.size() >= MAX_CACHED) {
                        cache.clear(); // crude but bounded; a busy server re-learns its hot addresses quickly
                    }
                    cache.put(key, new Cached(v, clock.getAsLong() + ttl));
                }
                inFlight.remove(key, mine);
                mine.complete(v);
            });
        } catch (RejectedExecutionException e) {
            inFlight.remove(key, mine);
            mine.complete(new Verdict(Result.TRY_LATER, closed ? "recipient check stopped" : "check queue full"));
        }
        return mine;
    }

    /** Stops the workers; checks waiting or running are answered TRY_LATER now rather than never. */
    void close() {
        closed = true;
        workers.shutdownNow();
        for (CompletableFuture<Verdict> f : inFlight.values()) {
            f.complete(new Verdict(Result.TRY_LATER, "recipient check stopped"));
        }
        inFlight.clear();
    }

    int size() {
        return cache.size();
    }
}
