package org.hermod.delivery.internal.dns;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Cache;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;

/**
 * Finds the mail exchangers of a domain (RFC 5321 5.1) with dnsjava's asynchronous {@link LookupSession}: MX records in
 * preference order with equal preferences shuffled, the implicit MX (the domain's own A/AAAA) when there is no MX,
 * null MX (RFC 7505) as a permanent 5.1.10 failure, NXDOMAIN as permanent 5.1.2, SERVFAIL and timeouts as temporary
 * 4.4.3. Answers are kept in a size-bounded, TTL-respecting dnsjava {@link Cache} (at most an hour; negative answers
 * for their SOA minimum, at most 5 minutes), failures for {@link #FAILURE_HOLD}, and concurrent lookups of the same
 * name and type share one query.
 *
 * <p>Thread-safe; never blocks: the returned stages complete on dnsjava's threads.
 */
public final class MxResolver {

    /** At most this many exchangers are resolved and tried per domain. */
    static final int MAX_HOSTS = 10;

    /** The longest a positive answer is kept, whatever its TTL. */
    static final int MAX_TTL_SECONDS = 3600;

    /** The longest a negative answer (NXDOMAIN, no records of the type) is kept; its SOA minimum applies below that. */
    static final int MAX_NEGATIVE_TTL_SECONDS = 300;

    /**
     * How long a failed lookup (SERVFAIL, REFUSED, timeout) is answered from memory instead of asking again (RFC 2308
     * section 7 allows up to five minutes): a domain whose name servers fail costs one query per name and type in this
     * time rather than one per message.
     */
    static final Duration FAILURE_HOLD = Duration.ofSeconds(5);

    private final LookupSession session;
    private final boolean preferIPv6;
    private final int maxHeld;
    /** Lookups in flight (shared by everyone asking the same name and type) and recent failures. */
    private final Map<Key, Held> held = new ConcurrentHashMap<>();
    private volatile LongSupplier nanoClock = System::nanoTime;
    /**
     * The longest one shared lookup may take before it counts as failed: dnsjava's answer should come within its own
     * timeout, but should its future never complete, everyone asking the same name and type would otherwise wait for
     * good (the delivery path sets no timeout of its own on a resolve).
     */
    private volatile Duration lookupBound;

    /** With callbacks run directly on dnsjava's I/O thread (tests). */
    public MxResolver(List<InetSocketAddress> servers, Duration timeout, int cacheSize, boolean preferIPv6) {
        this(resolver(servers, timeout), cacheSize, preferIPv6, Runnable::run);
        this.lookupBound = bound(timeout, servers.size());
    }

    /**
     * @param executor runs dnsjava's asynchronous steps. It must be given: dnsjava's default is the common fork-join
     *     pool, and on a machine with two cores the JDK then starts a new thread for every asynchronous step.
     */
    public MxResolver(List<InetSocketAddress> servers, Duration timeout, int cacheSize, boolean preferIPv6,
                      java.util.concurrent.Executor executor) {
        this(resolver(servers, timeout), cacheSize, preferIPv6, executor);
        this.lookupBound = bound(timeout, servers.size());
    }

    /** Every server's timeout, twice (dnsjava may follow a CNAME), plus a margin. */
    private static Duration bound(Duration timeout, int servers) {
        return timeout.multipliedBy(2L * Math.max(1, servers)).plusSeconds(5);
    }

    MxResolver(Resolver resolver, int cacheSize, boolean preferIPv6, java.util.concurrent.Executor executor) {
        Cache cache = new Cache(DClass.IN);
        cache.setMaxEntries(cacheSize);
        cache.setMaxCache(MAX_TTL_SECONDS);
        cache.setMaxNCache(MAX_NEGATIVE_TTL_SECONDS);
        this.maxHeld = Math.max(16, cacheSize);
        this.session = LookupSession.builder().resolver(resolver).cache(cache).clearSearchPath().executor(executor)
                .build();
        this.preferIPv6 = preferIPv6;
        this.lookupBound = bound(resolver.getTimeout(), 1);
    }

    /** A resolver asking {@code servers} (empty: the system's, from resolv.conf) with the timeout. */
    public static Resolver resolver(List<InetSocketAddress> servers, Duration timeout) {
        Resolver r;
        if (servers.isEmpty()) {
            r = new ExtendedResolver(); // system resolvers (resolv.conf) via dnsjava's ResolverConfig
        } else if (servers.size() == 1) {
            r = new SimpleResolver(servers.get(0));
        } else {
            List<Resolver> list = new ArrayList<>();
            for (InetSocketAddress s : servers) {
                list.add(new SimpleResolver(s));
            }
            r = new ExtendedResolver(list);
        }
        r.setTimeout(timeout);
        return r;
    }

    /** Resolves the exchangers of {@code domain}; the stage never completes exceptionally. */
    public CompletionStage<Route> resolve(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        if (d.startsWith("[") && d.endsWith("]")) {
            return CompletableFuture.completedFuture(literal(d));
        }
        Name name;
        try {
            name = Name.fromString(d, Name.root);
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(Route.permanent("5.1.2", "bad destination domain " + d));
        }
        return lookup(name, Type.MX).thenCompose(answer -> {
            if (answer.kind == Kind.NXDOMAIN) {
                return done(Route.permanent("5.1.2", "Host or domain name not found. Name service error for name="
                        + d + " type=MX: Host not found"));
            }
            if (answer.kind == Kind.FAILED) {
                return done(Route.temporary("4.4.3", "Host or domain name not found. Name service error for name="
                        + d + " type=MX: " + answer.error));
            }
            if (answer.kind == Kind.NODATA || answer.records.isEmpty()) {
                return addresses(name, d, 0).thenApply(h -> {
                    if (h.failure != null && h.host.addresses().isEmpty()) {
                        return h.failure.startsWith("NX") || h.failure.startsWith("no address")
                                ? Route.permanent("5.1.2", "Host or domain name not found. " + d + " has no MX and no address")
                                : Route.temporary("4.4.3", "Name service error for name=" + d + " type=A/AAAA: " + h.failure);
                    }
                    return Route.of(List.of(h.host), true);
                });
            }
            List<MXRecord> mx = new ArrayList<>();
            for (Record r : answer.records) {
                if (r instanceof MXRecord m) {
                    mx.add(m);
                }
            }
            if (mx.size() == 1 && mx.get(0).getTarget().equals(Name.root)) {
                return done(Route.permanent("5.1.10", "Recipient address rejected: domain " + d
                        + " does not accept mail (null MX)"));
            }
            mx.removeIf(m -> m.getTarget().equals(Name.root));
            List<MXRecord> ordered = order(mx);
            List<CompletableFuture<HostAnswer>> lookups = new ArrayList<>();
            for (MXRecord m : ordered.subList(0, Math.min(MAX_HOSTS, ordered.size()))) {
                lookups.add(addresses(m.getTarget(), strip(m.getTarget()), m.getPriority()));
            }
            return CompletableFuture.allOf(lookups.toArray(new CompletableFuture[0])).thenApply(v -> {
                List<MxHost> hosts = new ArrayList<>();
                String tempError = null;
                String lastError = null;
                for (CompletableFuture<HostAnswer> f : lookups) {
                    HostAnswer h = f.join();
                    if (!h.host.addresses().isEmpty()) {
                        hosts.add(h.host);
                    } else if (h.failure != null) {
                        lastError = h.host.name() + ": " + h.failure;
                        if (!h.failure.startsWith("NX") && !h.failure.startsWith("no address")) {
                            tempError = lastError;
                        }
                    }
                }
                if (!hosts.isEmpty()) {
                    return Route.of(hosts, false);
                }
                return tempError != null
                        ? Route.temporary("4.4.3", "Name service error looking up the MX hosts of " + d + ": " + tempError)
                        : Route.permanent("5.4.4", "Host or domain name not found: no MX host of " + d + " has an address ("
                        + lastError + ")");
            });
        });
    }

    /**
     * The TXT strings of {@code name}, each record's strings joined (RFC 7208 style); empty for NXDOMAIN or no TXT
     * records. Completes exceptionally on SERVFAIL or a timeout.
     */
    public CompletionStage<List<String>> txt(String name) {
        Name n = absolute(name);
        if (n == null) {
            return CompletableFuture.completedFuture(List.of());
        }
        return lookup(n, Type.TXT).thenApply(a -> {
            if (a.kind == Kind.FAILED) {
                throw LookupFailed.completion("TXT lookup of " + name + ": " + a.error);
            }
            List<String> out = new ArrayList<>();
            for (Record r : a.records) {
                if (r instanceof org.xbill.DNS.TXTRecord t) {
                    out.add(String.join("", t.getStrings()));
                }
            }
            return out;
        });
    }

    /** The addresses of a host (in the configured family order); empty when it has none or the lookup failed. */
    public CompletionStage<List<InetAddress>> hostAddresses(String host) {
        Name n = absolute(host);
        if (n == null) {
            return CompletableFuture.completedFuture(List.of());
        }
        return addresses(n, host, 0).thenApply(h -> h.host.addresses());
    }

    /** The name made absolute, or null when it is not a valid DNS name. */
    private static Name absolute(String name) {
        try {
            return Name.fromString(name, Name.root);
        } catch (TextParseException e) {
            return null;
        }
    }

    /** Sorts by preference and shuffles runs of equal preference. */
    static List<MXRecord> order(List<MXRecord> mx) {
        List<MXRecord> sorted = new ArrayList<>(mx);
        Collections.shuffle(sorted, ThreadLocalRandom.current());
        sorted.sort((a, b) -> Integer.compare(a.getPriority(), b.getPriority())); // stable: shuffled ties stay shuffled
        return sorted;
    }

    private CompletableFuture<HostAnswer> addresses(Name host, String hostName, int pref) {
        CompletableFuture<Answer> a = lookup(host, Type.A);
        CompletableFuture<Answer> aaaa = lookup(host, Type.AAAA);
        return a.thenCombine(aaaa, (v4, v6) -> {
            List<InetAddress> four = new ArrayList<>();
            List<InetAddress> six = new ArrayList<>();
            for (Record r : v4.records) {
                if (r instanceof ARecord ar) {
                    four.add(ar.getAddress());
                }
            }
            for (Record r : v6.records) {
                if (r instanceof AAAARecord ar) {
                    six.add(ar.getAddress());
                }
            }
            List<InetAddress> all = new ArrayList<>();
            all.addAll(preferIPv6 ? six : four);
            all.addAll(preferIPv6 ? four : six);
            String failure = null;
            if (all.isEmpty()) {
                if (v4.kind == Kind.FAILED || v6.kind == Kind.FAILED) {
                    failure = v4.kind == Kind.FAILED ? v4.error : v6.error;
                } else if (v4.kind == Kind.NXDOMAIN) {
                    failure = "NXDOMAIN (host not found)";
                } else {
                    failure = "no address (A/AAAA) records";
                }
            }
            return new HostAnswer(new MxHost(hostName, pref, all), failure);
        });
    }

    /** Replaces the bound on one shared lookup (tests). */
    void lookupBound(Duration bound) {
        this.lookupBound = bound;
    }

    /** Replaces the clock that times {@link #FAILURE_HOLD} (tests). */
    void nanoClock(LongSupplier clock) {
        this.nanoClock = clock;
    }

    /**
     * One answer for a name and type: a lookup already in flight for them is shared, and a failure is remembered for
     * {@link #FAILURE_HOLD}; everything else comes from dnsjava's TTL-bounded cache or the servers.
     */
    private CompletableFuture<Answer> lookup(Name name, int type) {
        Key k = new Key(name, type);
        while (true) {
            Held h = held.get(k);
            if (h != null && (h.until == IN_FLIGHT || nanoClock.getAsLong() - h.until < 0)) {
                return h.answer;
            }
            Held mine = new Held(new CompletableFuture<>(), IN_FLIGHT);
            if (h == null ? held.putIfAbsent(k, mine) != null : !held.replace(k, h, mine)) {
                continue; // someone else started one meanwhile: share theirs
            }
            CompletableFuture<Answer> q;
            try {
                q = query(name, type).orTimeout(lookupBound.toNanos(), TimeUnit.NANOSECONDS);
            } catch (Throwable e) { // an Error too (e.g. a class missing after a bundle update): never stay in flight
                q = CompletableFuture.completedFuture(new Answer(Kind.FAILED, List.of(), e.toString()));
            }
            q.whenComplete((a, t) -> {
                Answer answer = a != null ? a : new Answer(Kind.FAILED, List.of(), t instanceof TimeoutException
                        ? "no answer within " + lookupBound.toMillis() + " ms" : String.valueOf(t));
                if (answer.kind == Kind.FAILED && (held.size() <= maxHeld || sweep())) {
                    long until = nanoClock.getAsLong() + FAILURE_HOLD.toNanos();
                    held.replace(k, mine, new Held(mine.answer, until == IN_FLIGHT ? until + 1 : until));
                } else {
                    held.remove(k, mine);
                }
                mine.answer.complete(answer);
            });
            return mine.answer;
        }
    }

    /** Forgets expired failures; true when there is room for another. */
    private boolean sweep() {
        long now = nanoClock.getAsLong();
        held.values().removeIf(h -> h.until != IN_FLIGHT && now - h.until >= 0);
        return held.size() <= maxHeld;
    }

    private CompletableFuture<Answer> query(Name name, int type) {
        return session.lookupAsync(name, type).handle((LookupResult r, Throwable t) -> {
            if (t == null) {
                return new Answer(Kind.OK, r.getRecords(), null);
            }
            Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            if (c instanceof NoSuchDomainException) {
                return new Answer(Kind.NXDOMAIN, List.of(), "NXDOMAIN");
            }
            if (c instanceof NoSuchRRSetException) {
                return new Answer(Kind.NODATA, List.of(), "no " + Type.string(type) + " records");
            }
            String msg = c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
            return new Answer(Kind.FAILED, List.of(), msg);
        }).toCompletableFuture();
    }

    private static Route literal(String d) {
        try {
            String ip = d.substring(1, d.length() - 1);
            if (ip.regionMatches(true, 0, "ipv6:", 0, 5)) {
                ip = ip.substring(5);
            }
            if (!ip.matches("[0-9a-fA-F:.]+")) {
                throw new IllegalArgumentException(ip);
            }
            InetAddress a = InetAddress.getByName(ip); // a literal: no lookup happens
            return Route.of(List.of(new MxHost(ip, 0, List.of(a))), true);
        } catch (Exception e) {
            return Route.permanent("5.1.2", "bad address literal " + d);
        }
    }

    private static String strip(Name n) {
        String s = n.toString();
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static <T> CompletableFuture<T> done(T v) {
        return CompletableFuture.completedFuture(v);
    }

    private enum Kind { OK, NXDOMAIN, NODATA, FAILED }

    private record Answer(Kind kind, List<Record> records, String error) {
    }

    private record HostAnswer(MxHost host, String failure) {
    }

    private record Key(Name name, int type) {
    }

    private static final long IN_FLIGHT = Long.MIN_VALUE;

    /** A shared answer: in flight ({@code until == IN_FLIGHT}) or a failure kept until {@code until} (nano time). */
    private record Held(CompletableFuture<Answer> answer, long until) {
    }

    /**
     * A failed lookup as an exception without a stack trace: a failure is held for a while and every caller in that
     * time gets one (the MTA-STS check of each message to a domain whose TXT lookup fails: two stack walks per message
     * were 1% of the relay's CPU), and the trace would only say where this class is.
     */
    static final class LookupFailed extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        LookupFailed(String message) {
            super(message);
        }

        /** The failure as what a stage throws, itself without a stack trace either. */
        static CompletionException completion(String message) {
            return new CompletionException(message, new LookupFailed(message)) {
                private static final long serialVersionUID = 1L;

                @Override
                public synchronized Throwable fillInStackTrace() {
                    return this;
                }
            };
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
