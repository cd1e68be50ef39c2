package org.hermod.routing.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Function;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.RouteChange;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;

/**
 * One immutable chain: the enabled filters of each stage in order (ranking, highest first, then service id). Each
 * stage is one task on a filter thread that calls its filters one after the other, merging each decision in place
 * (see {@link FilterRunner}): route changes accumulate, a
 * rewritten recipient is what later RCPT filters see, at end of data header edits and recipient changes apply before
 * the next filter, and the first final action (accept, reject, defer, hold, discard, or a failure) ends the stage.
 */
final class ChainSnapshot implements FilterChain {

    private final Map<Stage, FilterEntry[]> stages;
    private final FilterRunner runner;

    ChainSnapshot(List<FilterEntry> ordered, FilterRunner runner) {
        this.runner = runner;
        Map<Stage, FilterEntry[]> m = new EnumMap<>(Stage.class);
        for (Stage s : Stage.values()) {
            m.put(s, ordered.stream().filter(e -> e.serves(s) && !replaced(e, s, ordered))
                    .toArray(FilterEntry[]::new));
        }
        this.stages = m;
    }

    /**
     * True when a newer registration of the same filter (same bundle, same name) serves the stage too: while a
     * service re-registers (the rule router does when its rules use other stages) the new registration exists
     * before the old one goes, and a chain built in that moment must call the filter once, not twice.
     */
    private static boolean replaced(FilterEntry e, Stage s, List<FilterEntry> all) {
        if (e.bundleId < 0) {
            return false;
        }
        for (FilterEntry o : all) {
            if (o.serviceId > e.serviceId && o.bundleId == e.bundleId && o.name.equals(e.name) && o.serves(s)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean has(Stage stage) {
        return stages.get(stage).length > 0;
    }

    /** The filters of a stage, in order (for the console and tests). */
    List<FilterEntry> filters(Stage stage) {
        return List.of(stages.get(stage));
    }

    @Override
    public CompletionStage<FilterDecision> connect(SessionInfo session) {
        return simple(Stage.CONNECT, e -> () -> e.connect().onConnect(session));
    }

    @Override
    public CompletionStage<FilterDecision> mail(SessionInfo session, MailAddress sender, Map<String, String> parameters) {
        Map<String, String> params = frozen(parameters);
        return simple(Stage.MAIL, e -> () -> e.mail().onMail(session, sender, params));
    }

    @Override
    public CompletionStage<FilterDecision> rcpt(SessionInfo session, MailAddress sender, Recipient recipient) {
        FilterEntry[] fs = stages.get(Stage.RCPT);
        return run(fs, new Merge(FilterDecision.proceed(), recipient), (e, m) ->
                () -> e.rcpt().onRcpt(session, sender, m.recipient), (m, d) -> m.then(d, true),
                m -> m.decision, FilterDecision.proceed());
    }

    @Override
    public CompletionStage<MailAndRcpt> mailAndRcpt(SessionInfo session, MailAddress sender,
                                                    Map<String, String> parameters, Recipient recipient) {
        FilterEntry[] mail = stages.get(Stage.MAIL);
        FilterEntry[] rcpt = stages.get(Stage.RCPT);
        FilterEntry[] both = Arrays.copyOf(mail, mail.length + rcpt.length);
        System.arraycopy(rcpt, 0, both, mail.length, rcpt.length);
        Map<String, String> params = frozen(parameters);
        int n = mail.length;
        return run(both, new MailThenRcpt(new Merge(FilterDecision.proceed(), null),
                        new Merge(FilterDecision.proceed(), recipient), 0, n),
                (e, m) -> m.done < n ? () -> e.mail().onMail(session, sender, params)
                        : () -> e.rcpt().onRcpt(session, sender, m.rcpt.recipient),
                MailThenRcpt::then,
                m -> new MailAndRcpt(m.mail.decision, m.refused() ? null : m.rcpt.decision),
                new MailAndRcpt(FilterDecision.proceed(), FilterDecision.proceed()));
    }

    /** MAIL parameters as filters see them; not Map.copyOf: value-less ones (SMTPUTF8) carry a null value. */
    private static Map<String, String> frozen(Map<String, String> parameters) {
        return parameters == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    private CompletionStage<FilterDecision> simple(Stage stage,
                                                   Function<FilterEntry, FilterRunner.Call> call) {
        return run(stages.get(stage), new Merge(FilterDecision.proceed(), null),
                (e, m) -> call.apply(e), (m, d) -> m.then(d, false), m -> m.decision,
                FilterDecision.proceed());
    }

    @Override
    public CompletionStage<DataOutcome> data(SessionInfo session, Envelope envelope, Route route, byte[] content) {
        DataState start = new DataState(FilterDecision.proceed(), envelope, route, new MessageContent(content),
                RouteChange.NONE);
        return run(stages.get(Stage.DATA), start,
                (e, s) -> () -> e.data().onData(session, s.envelope, s.route, s.message),
                DataState::then,
                s -> new DataOutcome(s.decision.withRoute(s.change), s.envelope, s.route, s.message.bytes()),
                new DataOutcome(FilterDecision.proceed(), envelope, route, content));
    }

    @Override
    public CompletionStage<FilterDecision> beforeDelivery(String queueId, Envelope envelope, Route route,
                                                          int attempts) {
        DataState start = new DataState(FilterDecision.proceed(), envelope, route, null, RouteChange.NONE);
        return run(stages.get(Stage.PRE_DELIVERY), start,
                (e, s) -> () -> e.preDelivery().beforeDelivery(queueId, s.envelope, s.route, attempts),
                DataState::then, s -> {
                    FilterDecision d = s.decision.withRoute(s.change);
                    return s.envelope.recipients().equals(envelope.recipients()) ? d
                            : d.withRecipients(s.envelope.recipients());
                }, FilterDecision.proceed());
    }

    /**
     * Runs a stage's filters in order as one task on a filter thread: {@code call} the next filter with the state so
     * far, merge its decision with {@code merge}, stop at a final action, and map the state to the result.
     */
    private <S extends StageState, R> CompletionStage<R> run(FilterEntry[] filters, S start,
            BiFunction<FilterEntry, S, FilterRunner.Call> call, BiFunction<S, FilterDecision, S> merge,
            Function<S, R> result, R nothing) {
        if (filters.length == 0) {
            return CompletableFuture.completedFuture(nothing);
        }
        return runner.run(filters, start, new FilterRunner.Steps<S>() {
            @Override
            public FilterRunner.Call call(FilterEntry filter, S state) {
                return call.apply(filter, state);
            }

            @Override
            public S merge(S state, FilterDecision decision) {
                return merge.apply(state, decision);
            }

            @Override
            public boolean isFinal(S state) {
                return state.isFinal();
            }

            @Override
            public int next(S state, int next) {
                return state.next(next);
            }
        }, result);
    }

    /** What a stage has decided so far. */
    interface StageState {
        boolean isFinal();

        /** The next filter's index after a merge (see {@link FilterRunner.Steps#next}). */
        default int next(int next) {
            return next;
        }
    }

    /**
     * The MAIL stage, then the RCPT stage, in one run: {@code done} decisions merged so far, the first {@code mailCount}
     * of them MAIL filters'. A final action of a MAIL filter ends the MAIL part (the rest of its filters are skipped);
     * a reject or defer there ends the run, as does a final action of a RCPT filter.
     */
    private record MailThenRcpt(Merge mail, Merge rcpt, int done, int mailCount) implements StageState {

        boolean refused() {
            FilterDecision.Action a = mail.decision.action();
            return a == FilterDecision.Action.REJECT || a == FilterDecision.Action.DEFER;
        }

        public boolean isFinal() {
            return refused() || rcpt.isFinal();
        }

        public int next(int next) {
            return done;
        }

        MailThenRcpt then(FilterDecision d) {
            if (done < mailCount) {
                Merge m = mail.then(d, false);
                return new MailThenRcpt(m, rcpt, m.isFinal() ? mailCount : done + 1, mailCount);
            }
            return new MailThenRcpt(mail, rcpt.then(d, true), done + 1, mailCount);
        }
    }

    /** Connect, MAIL, RCPT: the action, the accumulated route change and (RCPT) the recipient as rewritten. */
    private record Merge(FilterDecision decision, Recipient recipient) implements StageState {

        public boolean isFinal() {
            return decision.isFinal();
        }

        Merge then(FilterDecision d, boolean rcpt) {
            FilterDecision base = d.isFinal() ? actionOf(d).withRoute(decision.route()) : decision;
            FilterDecision merged = base.withRoute(d.route());
            Recipient r = recipient;
            MailAddress rewritten = d.rewrittenRecipient() != null ? d.rewrittenRecipient()
                    : decision.rewrittenRecipient();
            if (rcpt && rewritten != null) {
                merged = merged.withRecipientRewritten(rewritten);
                r = new Recipient(rewritten, recipient.notifyOn(), recipient.orcpt());
            }
            return new Merge(merged, r);
        }
    }

    /** End of data and pre-delivery: the action, and the envelope, route and content as changed so far. */
    private record DataState(FilterDecision decision, Envelope envelope, Route route, MessageContent message,
                             RouteChange change) implements StageState {

        public boolean isFinal() {
            return decision.isFinal();
        }

        DataState then(FilterDecision d) {
            MessageContent m = message == null ? null : message.edit(d.headersRemoved(), d.headersAdded());
            Envelope env = d.recipients() != null ? envelope.withRecipients(d.recipients()) : envelope;
            return new DataState(d.isFinal() ? actionOf(d) : decision, env, d.route().applyTo(route), m,
                    change.then(d.route()));
        }
    }

    /** Only the action of a decision (its reply or hold reason), without its changes. */
    static FilterDecision actionOf(FilterDecision d) {
        return switch (d.action()) {
            case CONTINUE -> FilterDecision.proceed();
            case ACCEPT -> FilterDecision.accept();
            case REJECT -> FilterDecision.reject(d.reply());
            case DEFER -> FilterDecision.defer(d.reply());
            case HOLD -> FilterDecision.hold(d.holdReason());
            case DISCARD -> FilterDecision.discard();
        };
    }

    /** The filter names of each stage, for logs. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        stages.forEach((s, fs) -> {
            if (fs.length > 0) {
                List<String> names = new ArrayList<>();
                for (FilterEntry e : fs) {
                    names.add(e.name);
                }
                parts.add(s + "=" + names);
            }
        });
        return "FilterChain" + parts;
    }
}
