package org.hermod.delivery.internal;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import org.hermod.api.Envelope;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterChainProvider;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.DeliveryItem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing chain's pre-delivery stage, asked before each attempt uses the message's route: only when a chain is
 * bound and has an enabled {@link FilterChain.Stage#PRE_DELIVERY} filter (else no call and no thread hop). The chain
 * runs filters on its own threads; the answer is handed to the I/O executor, never to a Netty event loop.
 *
 * <p>What the answer means for the attempt ({@link Verdict}):
 * <ul>
 * <li>CONTINUE / ACCEPT: deliver, with the filter's route change applied <b>for this attempt only</b> (it is not
 *     persisted: the spool has no call to change a stored route; the next attempt asks the filters again). A changed
 *     smarthost is used (its own connections); a changed pool is not, because the source was chosen before the
 *     attempt started: pools are set by the MAIL, RCPT and DATA stages. Changed recipients: the same number of
 *     recipients rewrites them one for one (each is sent to its new address, its outcome recorded for the queued
 *     recipient); another number cannot be recorded against the queued recipients and is ignored with a warning.</li>
 * <li>REJECT: the recipients fail with the filter's reply (default 550 5.7.1) and the sender gets a DSN.</li>
 * <li>DEFER: the recipients are deferred to the retry schedule with the filter's reply (default 451 4.7.1).</li>
 * <li>HOLD: the message is put on hold ({@code QueueManager.hold}) and the lease released; without a queue manager
 *     it is deferred.</li>
 * <li>DISCARD: as Postfix's discard, the recipients are completed as delivered without sending (reply {@code 250
 *     2.0.0 discarded by pre-delivery filter}, in the accounting log), no DSN.</li>
 * </ul>
 */
final class PreDelivery {

    private static final Logger LOG = LoggerFactory.getLogger(PreDelivery.class);

    /** What an attempt does after the pre-delivery stage. */
    record Verdict(FilterDecision.Action action, SmtpReply reply, String holdReason, Route route,
                   List<Recipient> recipients) {

        static Verdict deliver(Route route, List<Recipient> recipients) {
            return new Verdict(FilterDecision.Action.CONTINUE, null, null, route, recipients);
        }

        boolean delivers() {
            return action == FilterDecision.Action.CONTINUE || action == FilterDecision.Action.ACCEPT;
        }
    }

    private final Supplier<FilterChainProvider> chains;
    private final Executor io;

    /** @param chains the routing bundle's chain provider, or a supplier of null when there is none */
    PreDelivery(Supplier<FilterChainProvider> chains, Executor io) {
        this.chains = chains;
        this.io = io;
    }

    /** The verdict for an attempt at {@code recipients}; never completes exceptionally. */
    CompletableFuture<Verdict> ask(DeliveryItem item, List<Recipient> recipients) {
        Route route = item.route();
        FilterChain chain;
        try {
            FilterChainProvider p = chains.get();
            chain = p == null ? null : p.current();
            if (chain == null || !chain.has(FilterChain.Stage.PRE_DELIVERY)) {
                return CompletableFuture.completedFuture(Verdict.deliver(route, recipients));
            }
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("{}: no pre-delivery filter chain ({}); delivering unfiltered", item.queueId(), e.toString());
            return CompletableFuture.completedFuture(Verdict.deliver(route, recipients));
        }
        Envelope env = item.envelope();
        Envelope asked = recipients.equals(env.recipients()) ? env : env.withRecipients(recipients);
        CompletableFuture<FilterDecision> decided;
        try {
            decided = chain.beforeDelivery(item.queueId(), asked, route, item.attempts()).toCompletableFuture();
        } catch (RuntimeException e) {
            decided = CompletableFuture.failedFuture(e);
        }
        return decided.handleAsync((d, t) -> {
            if (t != null || d == null) { // the chain promises never to fail; if it does, fail safe: try later
                LOG.warn("{}: pre-delivery filters failed: {}", item.queueId(), String.valueOf(t));
                return new Verdict(FilterDecision.Action.DEFER, SmtpReply.of(451, "4.7.1",
                        "pre-delivery filters failed; trying again later"), null, route, recipients);
            }
            return verdict(item.queueId(), d, route, recipients);
        }, io);
    }

    static Verdict verdict(String queueId, FilterDecision d, Route route, List<Recipient> recipients) {
        switch (d.action()) {
            case REJECT:
                return new Verdict(d.action(), d.reply() != null && d.reply().isPermanent() ? d.reply()
                        : SmtpReply.of(550, "5.7.1", "rejected by a pre-delivery filter"), null, route, recipients);
            case DEFER:
                return new Verdict(d.action(), d.reply() != null && d.reply().isTransient() ? d.reply()
                        : SmtpReply.of(451, "4.7.1", "deferred by a pre-delivery filter"), null, route, recipients);
            case HOLD:
                return new Verdict(d.action(), null, d.holdReason() == null ? "held by a pre-delivery filter"
                        : d.holdReason(), route, recipients);
            case DISCARD:
                return new Verdict(d.action(), SmtpReply.of(250, "2.0.0", "discarded by pre-delivery filter"), null,
                        route, recipients);
            default:
                break;
        }
        Route changed = route;
        try {
            changed = d.route().applyTo(route);
        } catch (RuntimeException e) {
            LOG.warn("{}: pre-delivery route change not applied: {}", queueId, e.toString());
        }
        List<Recipient> to = recipients;
        if (d.recipients() != null) {
            if (d.recipients().size() == recipients.size()) {
                to = List.copyOf(d.recipients());
            } else {
                LOG.warn("{}: a pre-delivery filter changed {} recipient(s) into {}; only one-for-one rewrites can be "
                        + "recorded, the change is ignored", queueId, recipients.size(), d.recipients().size());
            }
        }
        return new Verdict(d.action(), null, null, changed, to);
    }
}
