package org.hermod.delivery.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.RecipientResult;
import org.hermod.api.spool.Spool;
import org.hermod.delivery.internal.dns.MxResolver;
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
 */
public final class Deliverer {

    private static final Logger LOG = LoggerFactory.getLogger(Deliverer.class);

    private final Supplier<DeliverySettings> settings;
    private final Supplier<MxResolver> resolver;
    private final SmtpClient client;
    private final ConnectionPool pool;
    private final AttemptRecorder recorder;
    private final Supplier<Spool> spool;
    private final Executor io;
    private final Supplier<ReturnPathCodec> returnPaths;

    /** Without VERP. */
    public Deliverer(Supplier<DeliverySettings> settings, Supplier<MxResolver> resolver, SmtpClient client,
                     ConnectionPool pool, AttemptRecorder recorder, Supplier<Spool> spool, Executor io) {
        this(settings, resolver, client, pool, recorder, spool, io, () -> null);
    }

    /** @param returnPaths the VERP codec, or a supplier of null when there is none (read once per delivery) */
    public Deliverer(Supplier<DeliverySettings> settings, Supplier<MxResolver> resolver, SmtpClient client,
                     ConnectionPool pool, AttemptRecorder recorder, Supplier<Spool> spool, Executor io,
                     Supplier<ReturnPathCodec> returnPaths) {
        this.returnPaths = returnPaths;
        this.settings = settings;
        this.resolver = resolver;
        this.client = client;
        this.pool = pool;
        this.recorder = recorder;
        this.spool = spool;
        this.io = io;
    }

    /** Delivers the item; the future completes after the lease has ended. Never completes exceptionally. */
    CompletableFuture<Void> deliver(LeasedItem leased) {
        DeliveryItem item = leased.item;
        DeliverySettings s = settings.get();
        DomainPolicy policy = s.policy(item.domain());
        CompletableFuture<byte[]> content = CompletableFuture.supplyAsync(() -> {
            try {
                return item.content();
            } catch (java.io.IOException e) {
                throw new CompletionException(e);
            }
        }, io);
        CompletableFuture<List<RecipientOutcome>> outcomes;
        if (item.bounceRequested()) {
            outcomes = CompletableFuture.completedFuture(all(item.envelope().recipients(), RecipientResult.Status.FAILED,
                    SmtpReply.of(550, "5.0.0", "message bounced by administrator"), FailureInput.Kind.OTHER, null, null));
        } else {
            outcomes = resolver.get().resolve(item.domain()).toCompletableFuture().thenCompose(route -> {
                if (route.failed()) {
                    return CompletableFuture.completedFuture(all(item.envelope().recipients(), statusOf(route.failure()),
                            route.failure(), FailureInput.Kind.DNS_FAILURE, null, null));
                }
                return content.thenCompose(bytes -> send(item, route, bytes, s, policy));
            });
        }
        return outcomes.exceptionally(t -> {
            Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            LOG.warn("delivery of {} to {} failed locally", item.queueId(), item.domain(), c);
            return all(item.envelope().recipients(), RecipientResult.Status.DEFERRED,
                    SmtpReply.of(451, "4.3.0", "local error: " + c), FailureInput.Kind.OTHER, null, null);
        }).thenCompose(list -> content.handle((bytes, t) -> bytes == null ? new byte[0] : bytes)
                .thenComposeAsync(bytes -> finish(leased, list, bytes, s, policy), io))
                .exceptionally(t -> {
                    LOG.error("finishing delivery of {} failed; releasing it", item.queueId(), t);
                    leased.release();
                    return null;
                });
    }

    private CompletableFuture<List<RecipientOutcome>> send(DeliveryItem item, Route route, byte[] content, DeliverySettings s,
                                                           DomainPolicy policy) {
        Transaction.Message msg = Transaction.Message.of(item.envelope(), content);
        List<Chunk> chunks = chunks(item, s);
        ConnectSettings cs = new ConnectSettings(s.smtpPort(), s.heloName(), s.sourceAddress(), s.timeouts(), s.tlsEnabled(),
                policy.tlsRequired());
        List<RecipientOutcome> acc = new ArrayList<>();
        return chunk(item.domain(), route, cs, msg, chunks, 0, pool.acquire(item.domain()), acc, s).thenApply(v -> acc);
    }

    /** The recipients of one transaction and its MAIL FROM (null: the envelope sender). */
    record Chunk(List<Recipient> rcpts, MailAddress returnPath) {
    }

    /** One transaction per recipient with its VERP return path, or transactions of up to maxRecipientsPerTransaction. */
    List<Chunk> chunks(DeliveryItem item, DeliverySettings s) {
        List<Recipient> rcpts = item.envelope().recipients();
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
        for (int i = 0; i < rcpts.size(); i += s.maxRecipientsPerTransaction()) {
            chunks.add(new Chunk(rcpts.subList(i, Math.min(rcpts.size(), i + s.maxRecipientsPerTransaction())), null));
        }
        return chunks;
    }

    /** Runs transaction {@code i} on {@code conn} (connecting first when null), then the rest. */
    private CompletableFuture<Void> chunk(String domain, Route route, ConnectSettings cs, Transaction.Message msg,
                                          List<Chunk> chunks, int i, SmtpConnection conn,
                                          List<RecipientOutcome> acc, DeliverySettings s) {
        if (i >= chunks.size()) {
            if (conn != null) {
                pool.release(domain, conn, true);
            }
            return CompletableFuture.completedFuture(null);
        }
        boolean reused = conn != null;
        CompletableFuture<SmtpClient.Connected> connected = reused
                ? CompletableFuture.completedFuture(new SmtpClient.Connected(conn, null)) : client.connect(route, cs);
        return connected.thenCompose(c -> {
            if (c.connection() == null) {
                AttemptFailure f = c.failure();
                for (int j = i; j < chunks.size(); j++) {
                    acc.addAll(all(chunks.get(j).rcpts(), statusOf(f.reply()), f.reply(), f.kind(), f.mxHost(), f.mxAddress()));
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
                    return chunk(domain, route, cs, msg, chunks, i, null, acc, s);
                }
                acc.addAll(r.outcomes());
                SmtpConnection next = sc;
                if (!r.reusable()) {
                    sc.quit();
                    next = null;
                } else if (sc.messages() >= s.maxMessagesPerConnection()) {
                    pool.release(domain, sc, false);
                    next = null;
                }
                return chunk(domain, route, cs, msg, chunks, i + 1, next, acc, s);
            });
        });
    }

    /** Runs on the I/O executor: expiry, events, DSN, completion. */
    private CompletableFuture<Void> finish(LeasedItem leased, List<RecipientOutcome> outcomes, byte[] content,
                                           DeliverySettings s, DomainPolicy policy) {
        DeliveryItem item = leased.item;
        Instant now = Instant.now();
        Instant deadline = item.arrival().plus(policy.maxAge());
        boolean expired = !now.isBefore(deadline);
        int attempt = item.attempts() + 1;
        Envelope env = item.envelope();
        List<RecipientResult> results = new ArrayList<>(outcomes.size());
        List<DsnRecipient> failed = new ArrayList<>();
        boolean anyDeferred = false;
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
            recorder.record(item.queueId(), env.sender().toString(), item.domain(), o, attempt, kindOverride);
            results.add(r);
            if (r.status() == RecipientResult.Status.DEFERRED) {
                anyDeferred = true;
            } else if (r.status() == RecipientResult.Status.FAILED && r.recipient().wantsFailureNotice()) {
                failed.add(new DsnRecipient(r.recipient(), "failed", status, r.remoteMta(), diagnostic, now));
            }
        }
        Instant retryAt = null;
        if (anyDeferred) {
            Duration d = policy.retry().delay(attempt, ThreadLocalRandom.current());
            retryAt = now.plus(d);
            if (retryAt.isAfter(deadline)) {
                retryAt = deadline; // one last attempt when the message expires
            }
        }
        Instant retry = retryAt;
        CompletableFuture<?> dsn = CompletableFuture.completedFuture(null);
        if (!failed.isEmpty()) {
            if (env.sender().isNullSender()) {
                LOG.info("{}: not bouncing a bounce; {} recipient(s) failed: {}", item.queueId(), failed.size(),
                        failed.get(0).diagnostic());
            } else {
                dsn = storeDsn(item, failed, content, s, now);
            }
        }
        return dsn.handle((v, t) -> {
            if (t != null) {
                LOG.error("{}: could not store the DSN to {}", item.queueId(), env.sender(), t);
            }
            leased.complete(results, retry);
            return null;
        });
    }

    private CompletableFuture<?> storeDsn(DeliveryItem item, List<DsnRecipient> failed, byte[] content, DeliverySettings s,
                                          Instant now) {
        try {
            Spool sp = spool.get();
            if (sp == null) {
                return CompletableFuture.failedFuture(new IllegalStateException("no spool"));
            }
            byte[] dsn = new DsnBuilder(s.heloName()).build(item.envelope(), item.queueId(), item.arrival(), failed, content, now);
            return sp.store(DsnBuilder.envelopeFor(item.envelope(), dsn), dsn).thenAccept(id ->
                    LOG.info("{}: sender non-delivery notification: {}", item.queueId(), id));
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
