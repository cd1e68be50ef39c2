package org.hermod.delivery.internal.tls;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import org.hermod.delivery.internal.dns.MxResolver;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * DNSSEC-validated lookups for DANE (RFC 7672 2.2): the destination's MX RRset (DANE applies only when it is secure) and
 * each MX host's {@code _25._tcp} TLSA RRset, through dnsjava's {@link ValidatingResolver} with the configured trust
 * anchors. A secure answer carries the AD flag; a bogus one comes back as SERVFAIL. Address records are not validated
 * (a simplification of RFC 7672 2.2.2, which skips TLSA lookups for hosts with insecure addresses). Answers are cached
 * for their TTL, at most 5 minutes (bogus ones 30 seconds). Thread-safe; never blocks.
 */
public final class DaneLookup {

    /** The DNSSEC status of an answer. */
    public enum Status { SECURE, INSECURE, BOGUS }

    /**
     * The TLSA records of one MX host.
     *
     * @param status SECURE (records, possibly none, proven), INSECURE or BOGUS (lookup failed validation or failed)
     * @param records the secure records (all of them; {@link Tlsa#usable()} tells which count)
     * @param detail why it is bogus, or null
     */
    public record HostTlsa(Status status, List<Tlsa> records, String detail) {
        public HostTlsa {
            records = List.copyOf(records);
        }

        public List<Tlsa> usable() {
            return records.stream().filter(Tlsa::usable).toList();
        }
    }

    /**
     * What DANE found for a destination.
     *
     * @param mx the status of the MX RRset
     * @param hosts per MX host (lower case), only when the MX RRset is secure
     * @param detail why the MX lookup is bogus, or null
     * @param mxTargets the target host names (lower case, no trailing dot) of the validated MX RRset when it is secure
     *     (empty for a secure denial: the domain itself is the implicit MX); only these may be used under DANE
     */
    public record Result(Status mx, Map<String, HostTlsa> hosts, String detail, java.util.Set<String> mxTargets) {
        public Result {
            hosts = Map.copyOf(hosts);
            mxTargets = java.util.Set.copyOf(mxTargets);
        }

        public Result(Status mx, Map<String, HostTlsa> hosts, String detail) {
            this(mx, hosts, detail, java.util.Set.of());
        }

        /**
         * Whether {@code host} is a target of the validated MX RRset (or, when that RRset is empty, the domain itself):
         * an MX host from an unvalidated answer that is not must not be trusted under DANE (RFC 7672 2.2.1).
         */
        public boolean validatedTarget(String domain, String host) {
            String h = host.toLowerCase(Locale.ROOT);
            return mxTargets.isEmpty() ? h.equals(domain.toLowerCase(Locale.ROOT)) : mxTargets.contains(h);
        }

        public HostTlsa host(String name) {
            return hosts.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private final ValidatingResolver resolver;
    private final Executor executor;

    /**
     * @param servers the resolvers to ask (empty: the system's); they must return DNSSEC records (DO bit)
     * @param trustAnchors DS or DNSKEY records in zone-file format
     * @param clock the validation time (signature validity), for tests
     */
    public DaneLookup(List<InetSocketAddress> servers, Duration timeout, InputStream trustAnchors, Clock clock,
                      Executor executor) throws IOException {
        Resolver head = MxResolver.resolver(servers, timeout);
        this.resolver = new ValidatingResolver(head, clock);
        this.resolver.setTimeout(timeout);
        this.resolver.setAddReasonToAdditional(true);
        this.resolver.loadTrustAnchors(trustAnchors);
        this.executor = executor;
    }

    /**
     * The DNSSEC status of the domain's MX RRset, and, when it is secure, its target names and the TLSA records of those
     * of {@code mxHosts} that are among them (hosts from the unvalidated MX answer that are not get no TLSA lookup).
     */
    public CompletableFuture<Result> lookup(String domain, List<String> mxHosts) {
        return query(domain, Type.MX).thenCompose(mx -> {
            if (mx.status != Status.SECURE) {
                return CompletableFuture.completedFuture(new Result(mx.status, Map.of(), mx.detail));
            }
            java.util.Set<String> targets = new java.util.LinkedHashSet<>();
            for (Record r : mx.records) {
                if (r instanceof org.xbill.DNS.MXRecord m) {
                    String t = m.getTarget().toString(true).toLowerCase(Locale.ROOT);
                    if (!t.isEmpty()) {
                        targets.add(t);
                    }
                }
            }
            Result shape = new Result(Status.SECURE, Map.of(), null, targets);
            Map<String, CompletableFuture<HostTlsa>> lookups = new LinkedHashMap<>();
            for (String h : mxHosts) {
                if (shape.validatedTarget(domain, h)) {
                    lookups.computeIfAbsent(h.toLowerCase(Locale.ROOT), this::tlsa);
                }
            }
            return CompletableFuture.allOf(lookups.values().toArray(new CompletableFuture[0])).thenApply(v -> {
                Map<String, HostTlsa> out = new LinkedHashMap<>();
                lookups.forEach((h, f) -> out.put(h, f.join()));
                return new Result(Status.SECURE, out, null, targets);
            });
        });
    }

    /** The TLSA records of {@code _25._tcp.<host>}. */
    public CompletableFuture<HostTlsa> tlsa(String host) {
        return query("_25._tcp." + host, Type.TLSA).thenApply(a -> {
            List<Tlsa> records = new ArrayList<>();
            for (Record r : a.records) {
                if (r instanceof TLSARecord t) {
                    records.add(new Tlsa(t.getCertificateUsage(), t.getSelector(), t.getMatchingType(),
                            t.getCertificateAssociationData()));
                }
            }
            return new HostTlsa(a.status, a.status == Status.SECURE ? records : List.of(), a.detail);
        });
    }

    private record Answer(Status status, List<Record> records, String detail) {
    }

    /** Validated answers are kept for their TTL (at most 5 minutes; bogus ones 30 s), at most this many. */
    static final int CACHE_SIZE = 10_000;

    private record Cached(Answer answer, long expiresNanos) {
    }

    private final Map<String, Cached> cache = new java.util.concurrent.ConcurrentHashMap<>();

    private CompletableFuture<Answer> query(String name, int type) {
        String key = name.toLowerCase(Locale.ROOT) + "/" + type;
        Cached c = cache.get(key);
        if (c != null && System.nanoTime() - c.expiresNanos < 0) {
            return CompletableFuture.completedFuture(c.answer);
        }
        return ask(name, type).thenApply(a -> {
            long ttl = a.status == Status.BOGUS ? 30 : a.records.isEmpty() ? 60
                    : a.records.stream().mapToLong(Record::getTTL).min().orElse(60);
            if (cache.size() >= CACHE_SIZE) {
                cache.clear();
            }
            cache.put(key, new Cached(a, System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(
                    Math.min(300, ttl))));
            return a;
        });
    }

    private CompletableFuture<Answer> ask(String name, int type) {
        Name n;
        try {
            n = Name.fromString(name, Name.root);
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(new Answer(Status.BOGUS, List.of(), "bad name " + name));
        }
        Message q = Message.newQuery(Record.newRecord(n, type, DClass.IN));
        return resolver.sendAsync(q, executor).toCompletableFuture().handle((m, t) -> {
            if (t != null) {
                Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                return new Answer(Status.BOGUS, List.of(), Type.string(type) + " lookup of " + name + " failed: " + c);
            }
            int rcode = m.getRcode();
            boolean secure = m.getHeader().getFlag(Flags.AD);
            if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
                return new Answer(Status.BOGUS, List.of(), Type.string(type) + " lookup of " + name + ": "
                        + Rcode.string(rcode) + reason(m));
            }
            List<Record> records = new ArrayList<>();
            for (Record r : m.getSection(Section.ANSWER)) {
                if (r.getType() == type) {
                    records.add(r);
                }
            }
            return new Answer(secure ? Status.SECURE : Status.INSECURE, records, null);
        });
    }

    /** The validator's explanation (a TXT record in the additional section), if any. */
    private static String reason(Message m) {
        for (Record r : m.getSection(Section.ADDITIONAL)) {
            if (r instanceof org.xbill.DNS.TXTRecord t && r.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS) {
                return " (" + String.join("", t.getStrings()) + ")";
            }
        }
        return "";
    }
}
