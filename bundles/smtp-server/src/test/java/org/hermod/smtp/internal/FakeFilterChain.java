package org.hermod.smtp.internal;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;

/**
 * A filter chain for session tests: each stage served answers with what the test set (at once, or a future the test
 * completes later, as a filter thread would); it records every call with what it was given.
 */
final class FakeFilterChain implements FilterChain {

    /** One call as the chain received it. */
    record Call(Stage stage, SessionInfo session, String detail, Route route, byte[] content) {
    }

    final List<Call> calls = new ArrayList<>();
    private final Map<Stage, Function<Call, CompletionStage<FilterDecision>>> stages = new EnumMap<>(Stage.class);
    private Function<Call, CompletionStage<DataOutcome>> data;

    /** Serves the stage with a fixed decision, answered at once. */
    FakeFilterChain on(Stage stage, FilterDecision d) {
        return on(stage, c -> CompletableFuture.completedFuture(d));
    }

    FakeFilterChain on(Stage stage, Function<Call, CompletionStage<FilterDecision>> answer) {
        stages.put(stage, answer);
        return this;
    }

    /** Serves end of data with a decision that changes nothing else. */
    FakeFilterChain onData(FilterDecision d) {
        return onData(c -> null, d);
    }

    /** Serves end of data: {@code content} makes the changed content from the given one (null: unchanged). */
    FakeFilterChain onData(Function<byte[], byte[]> content, FilterDecision d) {
        data = c -> {
            byte[] changed = content.apply(c.content());
            return CompletableFuture.completedFuture(new DataOutcome(d, null, d.route().applyTo(c.route()),
                    changed == null ? c.content() : changed));
        };
        return this;
    }

    FakeFilterChain onDataAnswer(Function<Call, CompletionStage<DataOutcome>> answer) {
        data = answer;
        return this;
    }

    int count(Stage s) {
        return (int) calls.stream().filter(c -> c.stage() == s).count();
    }

    @Override
    public boolean has(Stage stage) {
        return stage == Stage.DATA ? data != null : stages.containsKey(stage);
    }

    private CompletionStage<FilterDecision> call(Call c) {
        calls.add(c);
        Function<Call, CompletionStage<FilterDecision>> f = stages.get(c.stage());
        if (f == null) {
            throw new AssertionError("stage " + c.stage() + " called although the chain does not serve it");
        }
        return f.apply(c);
    }

    @Override
    public CompletionStage<FilterDecision> connect(SessionInfo session) {
        return call(new Call(Stage.CONNECT, session, "", null, null));
    }

    @Override
    public CompletionStage<FilterDecision> mail(SessionInfo session, MailAddress sender, Map<String, String> params) {
        return call(new Call(Stage.MAIL, session, sender + " " + params, null, null));
    }

    @Override
    public CompletionStage<FilterDecision> rcpt(SessionInfo session, MailAddress sender, Recipient recipient) {
        return call(new Call(Stage.RCPT, session, recipient.address().toString(), null, null));
    }

    /** As the real chain: the MAIL stage, then (unless it refused) the RCPT stage, each recorded as its own call. */
    @Override
    public CompletionStage<MailAndRcpt> mailAndRcpt(SessionInfo session, MailAddress sender, Map<String, String> params,
                                                    Recipient recipient) {
        CompletionStage<FilterDecision> mail = has(Stage.MAIL) ? mail(session, sender, params)
                : CompletableFuture.completedFuture(FilterDecision.proceed());
        return mail.thenCompose(m -> {
            if (m.action() == FilterDecision.Action.REJECT || m.action() == FilterDecision.Action.DEFER) {
                return CompletableFuture.completedFuture(new MailAndRcpt(m, null));
            }
            CompletionStage<FilterDecision> rcpt = has(Stage.RCPT) ? rcpt(session, sender, recipient)
                    : CompletableFuture.completedFuture(FilterDecision.proceed());
            return rcpt.thenApply(r -> new MailAndRcpt(m, r));
        });
    }

    @Override
    public CompletionStage<DataOutcome> data(SessionInfo session, Envelope envelope, Route route, byte[] content) {
        Call c = new Call(Stage.DATA, session, envelope.recipients().toString(), route, content);
        calls.add(c);
        if (data == null) {
            throw new AssertionError("end of data called although the chain does not serve it");
        }
        return data.apply(c);
    }

    @Override
    public CompletionStage<FilterDecision> beforeDelivery(String queueId, Envelope envelope, Route route,
                                                          int attempts) {
        throw new AssertionError("the SMTP server never calls pre-delivery");
    }
}
