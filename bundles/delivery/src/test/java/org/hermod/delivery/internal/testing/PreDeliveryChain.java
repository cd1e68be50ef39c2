package org.hermod.delivery.internal.testing;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterChainProvider;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;

/**
 * A filter chain with only a pre-delivery stage whose decision a test chooses; like the real chain it answers on a
 * thread of its own and records what it was asked (queue id, recipients, route, attempts).
 */
public final class PreDeliveryChain implements FilterChain, FilterChainProvider {

    /** One call of the stage. */
    public record Call(String queueId, List<String> recipients, Route route, int attempts, String thread) {
    }

    public final List<Call> calls = new CopyOnWriteArrayList<>();
    public volatile boolean enabled = true;
    private volatile Function<Envelope, FilterDecision> decide = e -> FilterDecision.proceed();

    public PreDeliveryChain decide(Function<Envelope, FilterDecision> d) {
        this.decide = d;
        return this;
    }

    @Override
    public FilterChain current() {
        return this;
    }

    @Override
    public boolean has(Stage stage) {
        return enabled && stage == Stage.PRE_DELIVERY;
    }

    @Override
    public CompletionStage<FilterDecision> beforeDelivery(String queueId, Envelope envelope, Route route, int attempts) {
        return CompletableFuture.supplyAsync(() -> {
            calls.add(new Call(queueId, envelope.recipients().stream().map(r -> r.address().toString()).toList(),
                    route, attempts, Thread.currentThread().getName()));
            return decide.apply(envelope);
        });
    }

    @Override
    public CompletionStage<FilterDecision> connect(SessionInfo session) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<FilterDecision> mail(SessionInfo session, MailAddress sender, Map<String, String> parameters) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<FilterDecision> rcpt(SessionInfo session, MailAddress sender, Recipient recipient) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<MailAndRcpt> mailAndRcpt(SessionInfo session, MailAddress sender,
                                                    Map<String, String> parameters, Recipient recipient) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<DataOutcome> data(SessionInfo session, Envelope envelope, Route route, byte[] content) {
        throw new UnsupportedOperationException();
    }
}
