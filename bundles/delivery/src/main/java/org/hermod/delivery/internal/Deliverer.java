package org.hermod.delivery.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.RecipientResult;
import org.hermod.api.spool.Spool;
import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Shaping;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.egress.Egress;
import org.hermod.delivery.internal.egress.Smarthost;
import org.hermod.delivery.internal.egress.StaticShaping;
import org.hermod.delivery.internal.dns.Route;
import org.hermod.delivery.internal.dsn.DsnBuilder;
import org.hermod.delivery.internal.dsn.DsnRecipient;
import org.hermod.delivery.internal.smtp.AttemptFailure;
import org.hermod.delivery.internal.smtp.ConnectSettings;
import org.hermod.delivery.internal.smtp.ConnectionPool;
import org.hermod.delivery.internal.smtp.RecipientOutcome;
import org.hermod.delivery.internal.smtp.SmtpClient;
import org.hermod.delivery.internal.smtp.SmtpConnection;
import org.hermod.delivery.internal.smtp.Transaction;
import org.hermod.delivery.internal.tls.HostTls;
import org.hermod.delivery.internal.tls.TlsRequirement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one leased item: resolves the destination, reads the content (on the I/O executor), sends over a pooled or
 * new connection in transactions of at most {@code maxRecipientsPerTransaction}, records every recipient's attempt,
 * turns deferrals past the maximum age into "delivery time expired" failures, sends the DSN for failures and finally
 * completes the lease with the retry time. Nothing here blocks a Netty event loop.
 *
 * <p>VERP: when {@code verp} is on, a {@link ReturnPathCodec} with a non-blank bounce domain is present and the sender
 * is not the null sender, every recipient gets its own transaction (one after the other on the same connection) whose
 * MAIL FROM is {@code codec.encode(queueId, recipient)}. Otherwise the original sender goes out in transactions of up to
 * {@code maxRecipientsPerTransaction} recipients.
 *
 * <p>Suppression: when {@code suppressionCheck} is on and a {@link SuppressionList} is present, recipients on it fail
 * before any connection is made ({@code 550 5.7.1}), with the usual events, accounting and failure DSN. They may have
 * been queued before the address was suppressed; the SMTP server refuses new ones at RCPT. When every recipient of the
 * item is suppressed, nothing is resolved or connected.
 *
 * <p>Delayed DSN (RFC 3464 {@code Action: delayed}, RFC 3461 NOTIFY=DELAY): see {@link #delayNoticeDue}. It lists the
 * still-deferred recipients that asked for it, with the status of their last reply and {@code Will-Retry-Until} =
 * arrival + maxAge; never for the null sender; {@code delayNotice = 0} disables it.
 */
public final class Deliverer {

    private static final Logger LOG = LoggerFactory.getLogger(Deliverer.class);

    /** Content at hand up to this size is dot-stuffed on the thread that starts the attempt (the dispatcher's). */
    static final long STUFF_IN_PLACE = 256 * 1024;

    private final Supplier<DeliverySettings> settings;
    private final Supplier<MxResolver> resolver;
    private final SmtpClient client;
    private final ConnectionPool pool;
    private final AttemptRecorder recorder;
    private final Supplier<Spool> spool;
    private final Executor io;
    private final Supplier<ReturnPathCodec> returnPaths;
    private final Supplier<SuppressionList> suppression;
    private volatile Supplier<Shaping> shaping;
    private volatile PreDelivery preDelivery;
    private volatile Supplier<org.hermod.api.spool.QueueManager> queues = () -> null;
    private volatile TlsPolicies tlsPolicies = (domain, route, enabled, required) -> CompletableFuture.completedFuture(
            TlsRequirement.uniform(domain, required ? HostTls.simple(HostTls.Check.ENCRYPT, "encrypt", "default")
                    : enabled ? HostTls.simple(HostTls.Check.MAY, "may", "default")
                    : HostTls.simple(HostTls.Check.NONE, "none", "default"), null));

    /** Without VERP. */
    public Deliverer(Supplier<DeliverySettings> settings, Supplier<MxResolver> resolver, SmtpClient client,
                     ConnectionPool pool, AttemptRecorder recorder, Supplier<Spool> spool, Executor io) {
        this(settings, resolver, client, pool, recorder, spool, io, () -> null);
    }

    /** @param returnPaths the VERP codec, or a supplier of null when there is none (read once per delivery) */
    public Deliverer(Supplier<DeliverySettings> settings, Supplier<MxResolver> resolver, SmtpClient client,
                     ConnectionPool pool, AttemptRecorder recorder, Supplier<Spool> spool, Executor io,
                     Supplier<ReturnPathCodec> returnPaths) {
        this(settings, resolver, client, pool, recorder, spool, io, returnPaths, () -> null);
    }

    /**
     * @param returnPaths the VERP codec, or a supplier of null when there is none (read once per delivery)
     * @param suppression the suppression list, or a supplier of null when there is none (read once per delivery)
     */
    public Deliverer(Supplier<DeliverySettings> settings, Supplier<MxResolver> resolver, SmtpClient client,
                     ConnectionPool pool, AttemptRecorder recorder, Supplier<Spool> spool, Executor io,
                     Supplier<ReturnPathCodec> returnPaths, Supplier<SuppressionList> suppression) {
        this.returnPaths = returnPaths;
        this.suppression = suppression;
        this.settings = settings;
        this.resolver = resolver;
        this.client = client;
        this.pool = pool;
        this.recorder = recorder;
        this.spool = spool;
        this.io = io;
        this.preDelivery = new PreDelivery(() -> null, io);
        StaticShaping fallback = new StaticShaping(settings);
        this.shaping = () -> fallback;
    }

    /**
     * The routing chain's pre-delivery stage and the queue manager its HOLD uses ({@link PreDelivery}); each a
     * supplier of null when absent.
     */
    public void filters(Supplier<org.hermod.api.filter.FilterChainProvider> chains,
                        Supplier<org.hermod.api.spool.QueueManager> queues) {
        this.preDelivery = new PreDelivery(chains, io);
        this.queues = queues;
    }

    /** Where connection tokens come from and outcomes go (the shaping bundle, or delivery's static shaping). */
    public void shaping(Supplier<Shaping> shaping) {
        this.shaping = shaping;
    }

    /** Delivers the item; the future completes after the lease has ended. Never completes exceptionally. */
    CompletableFuture<Void> deliver(DeliveryItem item, Egress egress) {
        DeliverySettings s = settings.get();
        DomainPolicy policy = s.policy(item.domain());
        // just stored: at hand without a hand-off to the I/O threads; else read there (it may block on the disk)
        byte[] inMemory = item.contentInMemory();
        CompletableFuture<byte[]> content = inMemory != null ? CompletableFuture.completedFuture(inMemory)
                : CompletableFuture.supplyAsync(() -> {
                    try {
                        return item.content();
                    } catch (java.io.IOException e) {
                        throw new CompletionException(e);
                    }
                }, io);
        CompletableFuture<List<RecipientOutcome>> outcomes;
        if (item.bounceRequested() || egress.bounceReason() != null) {
            SmtpReply why = item.bounceRequested() ? SmtpReply.of(550, "5.0.0", "message bounced by administrator")
                    : SmtpReply.of(550, "5.7.1", "not sent: " + egress.bounceReason());
            outcomes = CompletableFuture.completedFuture(all(item.envelope().recipients(), RecipientResult.Status.FAILED,
                    why, FailureInput.Kind.OTHER, null, null));
        } else {
            List<Recipient> all = item.envelope().recipients();
            List<RecipientOutcome> blocked = suppressed(item, s);
            List<Recipient> rest = blocked.isEmpty() ? all : remaining(all, blocked);
            CompletableFuture<PreDelivery.Verdict> verdict = rest.isEmpty()
                    ? CompletableFuture.completedFuture(PreDelivery.Verdict.deliver(item.route(), rest))
                    : preDelivery.ask(item, rest);
            outcomes = verdict.thenCompose(v -> {
                if (v.action() == FilterDecision.Action.HOLD && hold(item, v.holdReason())) {
                    return CompletableFuture.completedFuture(null); // held and released: no outcome, no finish
                }
                return attempt(item, egress, rest, v, content, s, policy)
                        .thenApply(list -> blocked.isEmpty() ? list : inOrder(all, blocked, list));
            });
        }
        return outcomes.thenCompose(list -> list == null ? CompletableFuture.completedFuture(null)
                : content.handle((bytes, t) -> bytes == null ? new byte[0] : bytes)
                .thenComposeAsync(bytes -> finish(item, egress, list, bytes, s, policy), io))
                .exceptionally(t -> {
                    LOG.error("finishing delivery of {} failed; releasing it", item.queueId(), t);
                    item.release();
                    return null;
                });
    }

    /**
     * One attempt at {@code rest} after the pre-delivery stage: its final action (reject, defer, discard, or a hold
     * that could not be made), else a delivery along the (possibly changed) route to the (possibly rewritten)
     * recipients, whose outcomes are recorded for the queued recipients.
     */
    private CompletableFuture<List<RecipientOutcome>> attempt(DeliveryItem item, Egress egress, List<Recipient> rest,
                                                              PreDelivery.Verdict v, CompletableFuture<byte[]> content,
                                                              DeliverySettings s, DomainPolicy policy) {
        switch (v.action()) {
            case REJECT:
                return CompletableFuture.completedFuture(all(rest, RecipientResult.Status.FAILED, v.reply(),
                        FailureInput.Kind.OTHER, null, null));
            case DEFER:
                return CompletableFuture.completedFuture(all(rest, RecipientResult.Status.DEFERRED, v.reply(),
                        FailureInput.Kind.OTHER, null, null));
            case DISCARD:
                LOG.info("{}: discarded by a pre-delivery filter ({} recipient(s) at {})", item.queueId(), rest.size(),
                        item.domain());
                return CompletableFuture.completedFuture(all(rest, RecipientResult.Status.DELIVERED, v.reply(),
                        FailureInput.Kind.OTHER, null, null));
            case HOLD:
                return CompletableFuture.completedFuture(all(rest, RecipientResult.Status.DEFERRED,
                        SmtpReply.of(451, "4.7.1", "a pre-delivery filter asked for a hold (" + v.holdReason()
                                + ") that could not be made"), FailureInput.Kind.OTHER, null, null));
            default:
                break;
        }
        org.hermod.api.routing.Route.HostPort smarthost = Smarthost.of(v.route());
        Egress path = egressFor(item, egress, smarthost);
        List<Recipient> to = v.recipients();
        CompletableFuture<List<RecipientOutcome>> sent = destination(item, smarthost).toCompletableFuture()
                .thenCompose(route -> {
                    if (route.failed()) {
                        return CompletableFuture.completedFuture(all(to, statusOf(route.failure()),
                                route.failure(), FailureInput.Kind.DNS_FAILURE, null, null));
                    }
                    // dot-stuffed once per delivery, never on an event loop: right after the read, on its I/O
                    // thread, when the read is still running; content already at hand is stuffed here when it is
                    // small (a scan of a few microseconds), else in an I/O task of its own
                    java.util.function.Function<byte[], Transaction.Message> stuff =
                            bytes -> Transaction.Message.stuffed(item.envelope(), bytes);
                    boolean async = content.isDone() && item.size() > STUFF_IN_PLACE;
                    return (async ? content.thenApplyAsync(stuff, io) : content.thenApply(stuff))
                            .thenCompose(msg -> {
                                try {
                                    return send(item, path, to, route, smarthost, msg, s, policy)
                                            .whenComplete((x, t) -> msg.release());
                                } catch (RuntimeException e) {
                                    msg.release();
                                    throw e;
                                }
                            });
                });
        return sent.exceptionally(t -> {
            Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            LOG.warn("delivery of {} to {} failed locally", item.queueId(), item.domain(), c);
            return all(to, RecipientResult.Status.DEFERRED,
                    SmtpReply.of(451, "4.3.0", "local error: " + c), FailureInput.Kind.OTHER, null, null);
        }).thenApply(list -> to == rest ? list : queuedRecipients(list, to, rest));
    }

    /**
     * The egress of an attempt: the dispatcher's, unless a pre-delivery filter changed the smarthost; then the new
     * destination gets a site of its own (the smarthost's, or {@code domain:<domain>} for MX delivery), so that no
     * connection pooled for one destination ever carries mail for another.
     */
    private static Egress egressFor(DeliveryItem item, Egress egress, org.hermod.api.routing.Route.HostPort smarthost) {
        if (java.util.Objects.equals(smarthost, Smarthost.of(item.route()))) {
            return egress;
        }
        org.hermod.api.shaping.Site site = smarthost != null ? Smarthost.site(smarthost)
                : new org.hermod.api.shaping.Site("domain:" + item.domain(), null, List.of());
        return new Egress(egress.source(), site, egress.limits());
    }

    /** Outcomes of rewritten recipients recorded for the queued recipients they replace (one for one, in order). */
    static List<RecipientOutcome> queuedRecipients(List<RecipientOutcome> list, List<Recipient> sent,
                                                   List<Recipient> queued) {
        Map<Recipient, Recipient> back = new java.util.IdentityHashMap<>();
        for (int i = 0; i < sent.size() && i < queued.size(); i++) {
            back.put(sent.get(i), queued.get(i));
        }
        List<RecipientOutcome> out = new ArrayList<>(list.size());
        for (RecipientOutcome o : list) {
            RecipientResult r = o.result();
            Recipient q = back.get(r.recipient());
            out.add(q == null ? o : new RecipientOutcome(new RecipientResult(q, r.status(), r.reply(), r.remoteMta()),
                    o.kind(), o.mxHost(), o.mxAddress(), o.tls()));
        }
        return out;
    }

    /** Puts the message on hold and ends the lease; false (nothing done) without a queue manager or when it fails. */
    private boolean hold(DeliveryItem item, String reason) {
        try {
            org.hermod.api.spool.QueueManager q = queues.get();
            if (q != null && q.hold(item.queueId(), reason)) {
                LOG.info("{}: held by a pre-delivery filter: {}", item.queueId(), reason);
                item.release();
                return true;
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: could not hold it: {}", item.queueId(), e.toString());
        }
        return false;
    }

    /**
     * Where the item goes: its route's smarthost (A/AAAA of the host, or the address literal; no MX lookup), else the MX
     * hosts of its domain.
     */
    private CompletionStage<Route> destination(DeliveryItem item, org.hermod.api.routing.Route.HostPort smarthost) {
        return smarthost == null ? resolver.get().resolve(item.domain()) : Smarthost.resolve(resolver.get(), smarthost);
    }

    /** Recipients on the suppression list, failed with 550 5.7.1; empty when the check is off or there is no list. */
    private List<RecipientOutcome> suppressed(DeliveryItem item, DeliverySettings s) {
        SuppressionList list = s.suppressionCheck() ? suppression.get() : null;
        if (list == null) {
            return List.of();
        }
        List<RecipientOutcome> out = new ArrayList<>();
        try {
            for (Recipient r : item.envelope().recipients()) {
                String address = r.address().toString();
                if (list.contains(address)) {
                    SmtpReply reply = SuppressionList.refusal(r.address());
                    out.add(new RecipientOutcome(new RecipientResult(r, RecipientResult.Status.FAILED, reply, null),
                            FailureInput.Kind.OTHER, null, null));
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: suppression list lookup failed; delivering without the check", item.queueId(), e);
            return List.of();
        }
        if (!out.isEmpty()) {
            LOG.info("{}: {} of {} recipient(s) at {} are suppressed; not sending to them", item.queueId(), out.size(),
                    item.envelope().recipients().size(), item.domain());
        }
        return out;
    }

    private static List<Recipient> remaining(List<Recipient> all, List<RecipientOutcome> blocked) {
        List<Recipient> rest = new ArrayList<>(all);
        for (RecipientOutcome o : blocked) {
            rest.remove(o.result().recipient());
        }
        return rest;
    }

    /** The outcomes of both lists in the envelope's recipient order. */
    static List<RecipientOutcome> inOrder(List<Recipient> rcpts, List<RecipientOutcome> a, List<RecipientOutcome> b) {
        Map<Recipient, ArrayDeque<RecipientOutcome>> by = new HashMap<>();
        for (List<RecipientOutcome> l : List.of(a, b)) {
            for (RecipientOutcome o : l) {
                by.computeIfAbsent(o.result().recipient(), k -> new ArrayDeque<>()).add(o);
            }
        }
        List<RecipientOutcome> out = new ArrayList<>(a.size() + b.size());
        for (Recipient r : rcpts) {
            ArrayDeque<RecipientOutcome> q = by.get(r);
            if (q != null && !q.isEmpty()) {
                out.add(q.poll());
            }
        }
        by.values().forEach(out::addAll); // anything not matched (should not happen) is kept
        return out;
    }

    private CompletableFuture<List<RecipientOutcome>> send(DeliveryItem item, Egress egress, List<Recipient> rcpts,
                                                           Route route, org.hermod.api.routing.Route.HostPort smarthost,
                                                           Transaction.Message msg, DeliverySettings s,
                                                           DomainPolicy policy) {
        List<Chunk> chunks = chunks(item, rcpts, s, egress.limits().maxRecipientsPerTransaction());
        // a source without its own address or EHLO name uses delivery's (org.hermod.delivery.cfg)
        String source = blank(egress.source().address()) ? s.sourceAddress() : egress.source().address();
        String helo = blank(egress.source().ehloName()) ? s.heloName() : egress.source().ehloName();
        // a smarthost: its own port (smtpPort, a test switch for MX delivery, does not apply) and its own TLS policy
        CompletableFuture<TlsRequirement> requirement = smarthost == null
                ? tlsPolicies.requirement(item.domain(), route, s.tlsEnabled(), policy.tlsRequired())
                : tlsPolicies.smarthost(smarthost.host(), policy.tlsRequired());
        int port = smarthost == null ? s.smtpPort() : smarthost.port();
        return requirement.thenCompose(tls -> {
            ConnectSettings cs = new ConnectSettings(port, helo, source, s.timeouts(), tls);
            // a connection must never carry mail for a destination whose TLS requirements it does not meet
            String key = egress.poolKey() + tls.poolKeySuffix();
            List<RecipientOutcome> acc = new ArrayList<>();
            SmtpConnection pooled = pool.acquire(key);
            if (pooled != null && !pooled.meets(tls)) {
                pooled.quit(); // opened under another requirement (policy changed, or a sibling host's weaker one)
                pooled = null;
            }
            return chunk(egress, key, item.domain(), route, cs, msg, chunks, 0, pooled, acc, s)
                    .thenApply(v -> acc);
        });
    }

    /** Decides the TLS requirements of a destination (the delivery component's {@code OutboundTls}). */
    @FunctionalInterface
    public interface TlsPolicies {
        /** Never completes exceptionally. */
        CompletableFuture<TlsRequirement> requirement(String domain, Route route, boolean tlsEnabled, boolean tlsRequired);

        /**
         * The requirement for a smarthost (never the recipient domain's policy map, DANE or MTA-STS: those are per
         * recipient domain); without a configured policy {@code may}, {@code encrypt} when the domain requires TLS.
         * Never completes exceptionally.
         */
        default CompletableFuture<TlsRequirement> smarthost(String host, boolean tlsRequired) {
            return CompletableFuture.completedFuture(TlsRequirement.uniform(host, tlsRequired
                    ? HostTls.simple(HostTls.Check.ENCRYPT, "encrypt", "smarthost")
                    : HostTls.simple(HostTls.Check.MAY, "may", "smarthost"), null));
        }
    }

    /** Where TLS requirements come from; without one, {@code may} (or {@code encrypt} where TLS is required). */
    public void tlsPolicies(TlsPolicies p) {
        this.tlsPolicies = p;
    }

    private static boolean blank(String v) {
        return v == null || v.isBlank();
    }

    /** The recipients of one transaction and its MAIL FROM (null: the envelope sender). */
    record Chunk(List<Recipient> rcpts, MailAddress returnPath) {
    }

    /** One transaction per recipient with its VERP return path, or transactions of up to maxRecipientsPerTransaction. */
    private List<Chunk> chunks(DeliveryItem item, List<Recipient> rcpts, DeliverySettings s, int perTransaction) {
        List<Chunk> chunks = new ArrayList<>();
        ReturnPathCodec codec = s.verp() && !item.envelope().sender().isNullSender() ? returnPaths.get() : null;
        String bounceDomain = codec == null ? null : codec.bounceDomain();
        if (bounceDomain != null && !bounceDomain.isBlank()) {
            try {
                for (Recipient r : rcpts) {
                    chunks.add(new Chunk(List.of(r), MailAddress.parse(codec.encode(item.queueId(), r.address().toString()))));
                }
                return chunks;
            } catch (RuntimeException e) {
                LOG.warn("{}: no VERP return path ({}); sending with the original sender", item.queueId(), e.toString());
                chunks.clear();
            }
        }
        for (int i = 0; i < rcpts.size(); i += perTransaction) {
            chunks.add(new Chunk(rcpts.subList(i, Math.min(rcpts.size(), i + perTransaction)), null));
        }
        return chunks;
    }

    /**
     * Runs transaction {@code i} on {@code conn} (connecting first when null, after the path's connection token), then
     * the rest. Connections are pooled per egress path, so the next message to any domain of the site reuses them.
     */
    private CompletableFuture<Void> chunk(Egress egress, String key, String domain, Route route, ConnectSettings cs,
                                          Transaction.Message msg, List<Chunk> chunks, int i, SmtpConnection conn,
                                          List<RecipientOutcome> acc, DeliverySettings s) {
        if (i >= chunks.size()) {
            if (conn != null) { // kept only when it meets the requirement it is pooled under
                pool.release(key, conn, conn.meets(cs.tls()));
            }
            return CompletableFuture.completedFuture(null);
        }
        boolean reused = conn != null;
        CompletableFuture<SmtpClient.Connected> connected = reused
                ? CompletableFuture.completedFuture(new SmtpClient.Connected(conn, null))
                : afterConnectionToken(egress, domain).thenCompose(v -> client.connect(route, cs));
        return connected.thenCompose(c -> {
            if (c.connection() == null) {
                AttemptFailure f = c.failure();
                for (int j = i; j < chunks.size(); j++) {
                    for (RecipientOutcome o : all(chunks.get(j).rcpts(), statusOf(f.reply()), f.reply(), f.kind(),
                            f.mxHost(), f.mxAddress())) {
                        acc.add(o.withTls(f.tls()));
                    }
                }
                return CompletableFuture.completedFuture(null);
            }
            SmtpConnection sc = c.connection();
            Chunk ch = chunks.get(i);
            return Transaction.run(sc, msg, ch.rcpts(), cs.timeouts(), s.strict8BitMime(), ch.returnPath()).handle((r, t) -> {
                if (t == null) {
                    return r;
                }
                Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                if (e instanceof Transaction.StaleConnectionException stale) {
                    return reused ? null : stale.result(); // null: retry on a fresh connection
                }
                throw new CompletionException(e);
            }).thenCompose(r -> {
                if (r == null) {
                    LOG.debug("pooled connection {} was stale; connecting again", sc);
                    return chunk(egress, key, domain, route, cs, msg, chunks, i, null, acc, s);
                }
                for (RecipientOutcome o : r.outcomes()) {
                    acc.add(o.withTls(sc.tlsOutcome()));
                }
                SmtpConnection next = sc;
                if (!r.reusable()) {
                    sc.quit();
                    next = null;
                } else if (sc.messages() >= egress.limits().maxMessagesPerConnection()) {
                    pool.release(key, sc, false);
                    next = null;
                }
                return chunk(egress, key, domain, route, cs, msg, chunks, i + 1, next, acc, s);
            });
        });
    }

    /**
     * Completes when the path may open a new connection (its connection-rate token), at once when unlimited. The
     * dispatcher takes the token before it starts a delivery that has no idle connection to reuse, so a wait here is
     * rare (another delivery took the idle connection meanwhile) and short: it is capped at {@link #MAX_TOKEN_WAIT},
     * after which the connection is made anyway rather than holding the lease through, say, a suspension.
     */
    private CompletableFuture<Void> afterConnectionToken(Egress egress, String domain) {
        Duration wait;
        try {
            wait = shaping.get().acquireConnection(egress.path(), egress.site(), domain, Instant.now());
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("shaping connection token failed: {}", e.toString());
            wait = Duration.ZERO;
        }
        if (wait.isZero() || wait.isNegative()) {
            return CompletableFuture.completedFuture(null);
        }
        Duration capped = wait.compareTo(MAX_TOKEN_WAIT) > 0 ? MAX_TOKEN_WAIT : wait;
        return CompletableFuture.runAsync(() -> { },
                CompletableFuture.delayedExecutor(capped.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS, io));
    }

    static final Duration MAX_TOKEN_WAIT = Duration.ofSeconds(2);

    /** Tells shaping what the attempt came to on its path; local outcomes (suppression, DNS, expiry) are not its. */
    private void feedback(Egress egress, String domain, RecipientOutcome o, DeliveryEvent event, Instant now) {
        FailureInput.Kind kind = o.kind();
        RecipientResult r = o.result();
        Feedback.Result result;
        if (r.status() == RecipientResult.Status.DELIVERED && o.mxHost() == null) {
            return; // completed without a connection (discarded by a pre-delivery filter): not the path's
        } else if (r.status() == RecipientResult.Status.DELIVERED) {
            result = Feedback.Result.DELIVERED;
        } else if (kind == FailureInput.Kind.REPLY) {
            result = r.status() == RecipientResult.Status.FAILED ? Feedback.Result.FAILED : Feedback.Result.DEFERRED;
        } else if (kind == FailureInput.Kind.TLS_FAILURE && o.mxAddress() == null) {
            return; // refused by the TLS policy before any connection (MTA-STS mismatch, bogus DNSSEC): not the path's
        } else if (kind == FailureInput.Kind.CONNECTION_REFUSED || kind == FailureInput.Kind.TIMEOUT
                || kind == FailureInput.Kind.TLS_FAILURE) {
            result = Feedback.Result.CONNECTION_FAILED;
        } else {
            return;
        }
        try {
            SmtpReply reply = r.reply();
            shaping.get().feedback(new Feedback(egress.path(), egress.site(), domain, now, result,
                    reply == null ? 0 : reply.code(), reply == null ? null : reply.enhancedStatus(),
                    reply == null ? "" : reply.text(), event == null ? null : event.category()));
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("shaping feedback failed: {}", e.toString()); // a broken strategy never takes delivery down
        }
    }

    /** Runs on the I/O executor: expiry, events, DSN, completion. */
    private CompletableFuture<Void> finish(DeliveryItem item, Egress egress, List<RecipientOutcome> outcomes,
                                           byte[] content, DeliverySettings s, DomainPolicy policy) {
        if (!item.isLeased()) { // released (e.g. at shutdown) while running: it is tried again; no events, no DSNs
            LOG.info("{}: lease ended before the delivery finished; its outcome is dropped", item.queueId());
            return CompletableFuture.completedFuture(null);
        }
        Instant now = Instant.now();
        Instant deadline = item.arrival().plus(policy.maxAge());
        boolean expired = !now.isBefore(deadline);
        int attempt = item.attempts() + 1;
        Envelope env = item.envelope();
        List<RecipientResult> results = new ArrayList<>(outcomes.size());
        List<DsnRecipient> failed = new ArrayList<>();
        List<DsnRecipient> delayed = new ArrayList<>();
        // an earlier attempt whose time is unknown (queued by 0.1) may have sent the notice: better none than two
        boolean delayDue = !expired && !env.sender().isNullSender()
                && (item.attempts() == 0 || item.lastAttempt() != null)
                && delayNoticeDue(s.delayNotice(), item.arrival(), item.lastAttempt(), now);
        boolean anyDeferred = false;
        java.util.Set<String> reported = new java.util.HashSet<>(); // shaping hears each distinct reply once
        for (RecipientOutcome o : outcomes) {
            RecipientResult r = o.result();
            FailureInput.Kind kindOverride = null;
            SmtpReply diagnostic = r.reply();
            String status = DsnRecipient.statusOf(r.reply());
            if (r.status() == RecipientResult.Status.DEFERRED && expired) {
                SmtpReply last = r.reply();
                SmtpReply exp = SmtpReply.of(last == null ? 451 : last.code(), "4.4.7", "delivery time expired after "
                        + Durations.format(policy.maxAge()) + (last == null ? "" : "; last error: " + last));
                r = new RecipientResult(r.recipient(), RecipientResult.Status.FAILED, exp, r.remoteMta());
                o = new RecipientOutcome(r, FailureInput.Kind.EXPIRED, o.mxHost(), o.mxAddress());
                kindOverride = FailureInput.Kind.EXPIRED;
                status = "4.4.7";
            }
            DeliveryEvent event = recorder.record(item.queueId(), env.sender().toString(), item.domain(), o, attempt,
                    kindOverride);
            if (kindOverride == null && !item.bounceRequested()
                    && reported.add(r.status() + " " + o.kind() + " " + r.reply() + " " + o.mxHost())) {
                feedback(egress, item.domain(), o, event, now);
            }
            results.add(r);
            if (r.status() == RecipientResult.Status.DEFERRED) {
                anyDeferred = true;
                if (delayDue && r.recipient().wantsDelayNotice()) {
                    delayed.add(new DsnRecipient(r.recipient(), "delayed", delayStatus(r.reply()), r.remoteMta(),
                            r.reply(), now, deadline));
                }
            } else if (r.status() == RecipientResult.Status.FAILED && r.recipient().wantsFailureNotice()) {
                failed.add(new DsnRecipient(r.recipient(), "failed", status, r.remoteMta(), diagnostic, now));
            }
        }
        Instant retryAt = null;
        if (anyDeferred) {
            retryAt = now.plus(policy.retry().delay(attempt, ThreadLocalRandom.current()));
            if (retryAt.isAfter(deadline)) {
                retryAt = deadline; // one last attempt when the message expires
            }
        }
        Instant retry = retryAt;
        if (!item.isLeased()) {
            LOG.info("{}: lease ended before the delivery finished; no DSN is sent", item.queueId());
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<?> dsn = CompletableFuture.completedFuture(null);
        if (!failed.isEmpty()) {
            if (env.sender().isNullSender()) {
                LOG.info("{}: not bouncing a bounce; {} recipient(s) failed: {}", item.queueId(), failed.size(),
                        failed.get(0).diagnostic());
            } else {
                dsn = storeDsn(item, failed, content, s, now, "non-delivery");
            }
        }
        CompletableFuture<?> delayDsn = CompletableFuture.completedFuture(null);
        if (!delayed.isEmpty()) {
            delayDsn = storeDsn(item, delayed, content, s, now, "delayed-delivery");
        }
        CompletableFuture<?> notified = delayDsn.handle((v, t) -> {
            if (t != null) {
                LOG.error("{}: could not store the delayed-delivery DSN to {}", item.queueId(), env.sender(), t);
            }
            return null;
        });
        return dsn.handle((v, t) -> {
            if (t == null) {
                return false;
            }
            LOG.error("{}: could not store the DSN to {}; its {} recipient(s) are deferred to try again", item.queueId(),
                    env.sender(), failed.size(), t);
            return true;
        }).thenCombine(notified, (dsnLost, b) -> dsnLost).thenCompose(dsnLost -> {
            // completing them FAILED would lose the bounce: keep them queued and fail (and bounce) them again soon
            CompletionStage<Void> recorded = dsnLost
                    ? item.complete(deferUnbounced(results, failed), earliest(retry, Instant.now().plus(DSN_RETRY)))
                    : item.complete(results, retry);
            return recorded.handle((v, t) -> {
                if (t != null) {
                    LOG.warn("{}: the outcome for {} was not recorded ({}); the attempt will be repeated",
                            item.queueId(), item.domain(), t.toString());
                }
                return null;
            });
        });
    }

    /** When the failures are tried again after their DSN could not be stored. */
    static final Duration DSN_RETRY = Duration.ofMinutes(1);

    /** The results with the failed recipients whose DSN was lost turned into deferrals (delivered ones are kept). */
    private static List<RecipientResult> deferUnbounced(List<RecipientResult> results, List<DsnRecipient> unbounced) {
        java.util.Set<Recipient> lost = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        unbounced.forEach(d -> lost.add(d.recipient()));
        List<RecipientResult> out = new ArrayList<>(results.size());
        for (RecipientResult r : results) {
            if (r.status() == RecipientResult.Status.FAILED && lost.contains(r.recipient())) {
                out.add(new RecipientResult(r.recipient(), RecipientResult.Status.DEFERRED, SmtpReply.of(451, "4.3.0",
                        "failed (" + r.reply() + ") but the failure notice could not be queued; trying again"),
                        r.remoteMta()));
            } else {
                out.add(r);
            }
        }
        return out;
    }

    private static Instant earliest(Instant a, Instant b) {
        return a == null || b.isBefore(a) ? b : a;
    }

    /**
     * Whether the attempt that just ended deferred sends the delayed DSN: it is sent by the first attempt that ends at
     * or after {@code T = arrival + delayNotice}, i.e. when {@code now >= T} and the previous attempt (as the spool
     * recorded it) ended before {@code T}, or there was none. An operator's flush or a changed retry schedule cannot
     * send it twice, and a late attempt cannot skip it.
     *
     * @param delayNotice after how long in the queue; zero disables
     * @param lastAttempt when the previous attempt ended, or null when this was the first
     * @param now when this attempt ended
     */
    static boolean delayNoticeDue(Duration delayNotice, Instant arrival, Instant lastAttempt, Instant now) {
        if (delayNotice.isZero() || delayNotice.isNegative()) {
            return false;
        }
        Instant threshold = arrival.plus(delayNotice);
        return !now.isBefore(threshold) && (lastAttempt == null || lastAttempt.isBefore(threshold));
    }

    /** The status of a delayed recipient: the 4.x.x of its last reply. */
    static String delayStatus(SmtpReply reply) {
        String st = reply == null ? null : DsnRecipient.statusOf(reply);
        return st != null && st.startsWith("4.") ? st : "4.0.0";
    }

    private CompletableFuture<?> storeDsn(DeliveryItem item, List<DsnRecipient> failed, byte[] content, DeliverySettings s,
                                          Instant now, String what) {
        try {
            Spool sp = spool.get();
            if (sp == null) {
                return CompletableFuture.failedFuture(new IllegalStateException("no spool"));
            }
            byte[] dsn = new DsnBuilder(s.heloName()).build(item.envelope(), item.queueId(), item.arrival(), failed, content, now);
            return sp.store(DsnBuilder.envelopeFor(item.envelope(), dsn), dsn).thenAccept(id ->
                    LOG.info("{}: sender {} notification: {}", item.queueId(), what, id));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    static RecipientResult.Status statusOf(SmtpReply r) {
        return r.isPermanent() ? RecipientResult.Status.FAILED
                : r.isTransient() ? RecipientResult.Status.DEFERRED : RecipientResult.Status.DELIVERED;
    }

    private static List<RecipientOutcome> all(List<Recipient> rcpts, RecipientResult.Status status, SmtpReply reply,
                                              FailureInput.Kind kind, String mxHost, String mxAddress) {
        List<RecipientOutcome> out = new ArrayList<>(rcpts.size());
        for (Recipient r : rcpts) {
            out.add(new RecipientOutcome(new RecipientResult(r, status, reply, mxHost), kind, mxHost, mxAddress));
        }
        return out;
    }
}
