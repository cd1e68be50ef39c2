package org.hermod.delivery.internal.tls;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the MTA-STS policy of a destination domain (RFC 8461 section 5): looks up the {@code _mta-sts} TXT record, and
 * uses the cached policy while its max_age lasts and the record's id is unchanged; otherwise fetches the policy over
 * HTTPS and caches it. Without a TXT record (or when the lookup fails) an unexpired cached policy still applies. A
 * failed fetch falls back to the unexpired cached policy, and is not repeated for the same id for
 * {@link #FAILURE_HOLD}. One fetch per domain at a time. Thread-safe; never blocks the caller (fetches run on the
 * given executor).
 */
public final class MtaSts {

    private static final Logger LOG = LoggerFactory.getLogger(MtaSts.class);

    /** How long a failed fetch is not tried again for the same TXT id. */
    public static final Duration FAILURE_HOLD = Duration.ofMinutes(5);

    /**
     * The longest a policy fetch (address lookup, connection, response) may take before it counts as a fetch error, so
     * that a slow policy server cannot hold up delivery (then a cached unexpired policy applies, else none: RFC 8461).
     */
    public static final Duration FETCH_DEADLINE = Duration.ofSeconds(30);

    private volatile Duration fetchDeadline = FETCH_DEADLINE;

    /**
     * What applies to a domain.
     *
     * @param policy the policy in force (mode enforce or testing), or null for none
     * @param id the TXT id of the policy, or null
     * @param failure a TLS-RPT result type when the domain announced a policy that could not be had
     *     ({@code sts-policy-fetch-error}, {@code sts-policy-invalid}, {@code sts-webpki-invalid}), else null
     * @param detail what went wrong, or null
     */
    public record Result(MtaStsPolicy policy, String id, String failure, String detail) {

        static final Result NONE = new Result(null, null, null, null);

        public boolean active() {
            return policy != null && policy.mode() != MtaStsPolicy.Mode.NONE;
        }
    }

    private record Failed(String id, Instant until, Result result) {
    }

    private final Function<String, CompletableFuture<List<String>>> txt;
    private final Function<String, CompletableFuture<List<InetAddress>>> addresses;
    private final BiFunction<String, List<InetAddress>, String> fetch;
    private final MtaStsCache cache;
    private final Executor executor;
    private final Clock clock;
    private final Map<String, CompletableFuture<Result>> inFlight = new ConcurrentHashMap<>();
    private final Map<String, Failed> failed = new ConcurrentHashMap<>();

    /**
     * @param txt the TXT strings of a name (completes exceptionally on a DNS failure)
     * @param addresses the addresses of a host
     * @param fetch the blocking policy fetch; throws {@link MtaStsFetcher.FetchException} (wrapped in an unchecked
     *     {@link CompletionException}) on failure
     */
    public MtaSts(Function<String, CompletableFuture<List<String>>> txt,
                  Function<String, CompletableFuture<List<InetAddress>>> addresses,
                  BiFunction<String, List<InetAddress>, String> fetch, MtaStsCache cache, Executor executor, Clock clock) {
        this.txt = txt;
        this.addresses = addresses;
        this.fetch = fetch;
        this.cache = cache;
        this.executor = executor;
        this.clock = clock;
    }

    /** Sets the fetch deadline ({@link #FETCH_DEADLINE} by default), for tests. */
    void fetchDeadline(Duration d) {
        this.fetchDeadline = d;
    }

    /** Forgets expired cached policies and failures (memory and files). */
    public void purge() {
        Instant now = clock.instant();
        cache.purge(now);
        failed.values().removeIf(f -> !now.isBefore(f.until()));
    }

    /** Adapts a {@link MtaStsFetcher} to the function form. */
    public static BiFunction<String, List<InetAddress>, String> fetching(MtaStsFetcher f) {
        return (domain, addrs) -> {
            try {
                return f.fetch(domain, addrs);
            } catch (MtaStsFetcher.FetchException e) {
                throw new CompletionException(e);
            }
        };
    }

    /** The policy that applies to {@code domain}; never completes exceptionally. */
    public CompletableFuture<Result> policy(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        CompletableFuture<List<String>> records;
        try {
            records = txt.apply("_mta-sts." + d);
        } catch (RuntimeException e) {
            records = CompletableFuture.failedFuture(e);
        }
        return records.handle((list, t) -> {
            Instant now = clock.instant();
            MtaStsCache.Entry cached = cache.get(d);
            boolean valid = cached != null && cached.validAt(now);
            String id = t == null ? id(list) : null;
            if (id == null) { // no (valid) record or no answer: a cached policy lasts until max_age
                return CompletableFuture.completedFuture(valid ? from(cached) : Result.NONE);
            }
            if (valid && id.equals(cached.id())) {
                return CompletableFuture.completedFuture(from(cached));
            }
            Failed f = failed.get(d);
            if (f != null && f.id().equals(id) && now.isBefore(f.until())) {
                return CompletableFuture.completedFuture(valid ? withFailure(from(cached), f.result()) : f.result());
            }
            CompletableFuture<Result> mine = new CompletableFuture<>();
            CompletableFuture<Result> running = inFlight.putIfAbsent(d, mine);
            if (running != null) {
                return running;
            }
            fetchAndCache(d, id).whenComplete((r, e) -> {
                inFlight.remove(d, mine);
                mine.complete(r != null ? r : new Result(null, id, "sts-policy-fetch-error", String.valueOf(e)));
            });
            return mine;
        }).thenCompose(f -> f);
    }

    private CompletableFuture<Result> fetchAndCache(String d, String id) {
        return addresses.apply("mta-sts." + d)
                .thenApplyAsync(addrs -> fetch.apply(d, addrs), executor)
                .orTimeout(fetchDeadline.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                .thenApply(text -> {
                    MtaStsPolicy p;
                    try {
                        p = MtaStsPolicy.parse(text);
                    } catch (IllegalArgumentException e) {
                        throw new CompletionException(new MtaStsFetcher.FetchException("sts-policy-invalid",
                                "the MTA-STS policy of " + d + " is invalid: " + e.getMessage(), e));
                    }
                    MtaStsCache.Entry e = new MtaStsCache.Entry(d, id, p, clock.instant());
                    cache.put(e);
                    failed.remove(d);
                    LOG.info("MTA-STS policy of {} (id {}): mode {}, mx {}, max_age {}s", d, id, p.mode().configName(),
                            p.mx(), p.maxAge().toSeconds());
                    return from(e);
                })
                .exceptionally(t -> {
                    Throwable c = t;
                    while (c instanceof CompletionException && c.getCause() != null) {
                        c = c.getCause();
                    }
                    String type = c instanceof MtaStsFetcher.FetchException fe ? fe.type() : "sts-policy-fetch-error";
                    String detail = c instanceof java.util.concurrent.TimeoutException
                            ? "fetching the MTA-STS policy of " + d + " took longer than " + fetchDeadline.toMillis() + " ms"
                            : c.getMessage() == null ? c.toString() : c.getMessage();
                    Result r = new Result(null, id, type, detail);
                    Instant now = clock.instant();
                    failed.put(d, new Failed(id, now.plus(FAILURE_HOLD), r));
                    LOG.warn("MTA-STS policy of {} (id {}) not fetched: {} ({})", d, id, r.detail(), type);
                    MtaStsCache.Entry cached = cache.get(d);
                    return cached != null && cached.validAt(now) ? withFailure(from(cached), r) : r;
                });
    }

    /**
     * The id of the one valid {@code v=STSv1} record among the TXT strings, or null when there is none or more than one
     * (RFC 8461 3.1).
     */
    static String id(List<String> records) {
        List<String> ids = new ArrayList<>();
        for (String r : records) {
            String[] fields = r.split(";");
            if (!fields[0].trim().equals("v=STSv1")) {
                continue;
            }
            String id = null;
            for (int i = 1; i < fields.length; i++) {
                String f = fields[i].trim();
                if (f.startsWith("id=")) {
                    id = f.substring(3).trim();
                }
            }
            ids.add(id != null && id.matches("[A-Za-z0-9]{1,32}") ? id : null);
        }
        return ids.size() == 1 ? ids.get(0) : null;
    }

    private static Result from(MtaStsCache.Entry e) {
        return new Result(e.policy(), e.id(), null, null);
    }

    private static Result withFailure(Result cached, Result failure) {
        return new Result(cached.policy(), cached.id(), failure.failure(), failure.detail());
    }
}
