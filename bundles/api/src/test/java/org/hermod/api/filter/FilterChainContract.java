package org.hermod.api.filter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.routing.Route;
import org.junit.After;
import org.junit.Test;

/**
 * What every {@link FilterChain} must do, whatever runs it: serve exactly the stages its filters serve, call filters
 * in ranking order (highest first, then lowest service id) and never on the caller's thread, merge their decisions
 * (a final action ends the stage with the changes made so far; route changes accumulate with later filters winning;
 * a rewritten recipient, header edits and recipient changes are what later filters see), and fail safe: a filter that
 * throws, returns nothing or runs past its budget yields DEFER 451 4.3.0 (REJECT 554 5.3.0 with
 * {@code onFailure=reject}), ends the stage, and does not hold up calls of other filters.
 * Extend it and implement {@link #chain(List)}.
 */
public abstract class FilterChainContract {

    /** A filter object (implementing one or more stage interfaces) and its service properties. */
    protected record Registered(Object filter, Map<String, Object> properties) {
    }

    /**
     * A chain of these filters as if each were registered as a service with its properties (which carry
     * {@code service.id}, {@code service.ranking} and {@link FilterProperties} keys) under every stage interface it
     * implements.
     */
    protected abstract FilterChain chain(List<Registered> filters) throws Exception;

    private static final AtomicInteger IDS = new AtomicInteger(1000);
    protected static final SessionInfo SESSION = new SessionInfo("s1", "192.0.2.7", "client.test", null, false,
            "default");
    protected static final MailAddress FROM = MailAddress.parse("sender@from.test");
    protected static final Recipient TO = Recipient.of(MailAddress.parse("rcpt@to.test"));
    protected static final Envelope ENVELOPE = Envelope.local(FROM, List.of(TO), Envelope.BodyType.SEVEN_BIT);
    protected static final byte[] CONTENT = ("Subject: hello\r\nX-Old: 1\r\n  folded\r\nFrom: s@from.test\r\n\r\n"
            + "Body line\r\n").getBytes(StandardCharsets.US_ASCII);

    private final List<CountDownLatch> toRelease = Collections.synchronizedList(new ArrayList<>());

    @After
    public void releaseBlockedFilters() {
        toRelease.forEach(CountDownLatch::countDown);
    }

    protected static Registered filter(Object f, String name, int ranking, Object... keyValues) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("service.id", (long) IDS.incrementAndGet());
        p.put("service.ranking", ranking);
        p.put(FilterProperties.NAME, name);
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            p.put((String) keyValues[i], keyValues[i + 1]);
        }
        return new Registered(f, p);
    }

    private static <T> T get(CompletionStage<T> s) throws Exception {
        return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private FilterDecision rcpt(FilterChain c) throws Exception {
        return get(c.rcpt(SESSION, FROM, TO));
    }

    @Test
    public void anEmptyChainServesNoStageAndChangesNothing() throws Exception {
        FilterChain c = chain(List.of());
        for (Stage s : Stage.values()) {
            assertFalse(s + " served by no filter", c.has(s));
        }
        assertEquals(FilterDecision.Action.CONTINUE, get(c.connect(SESSION)).action());
        FilterChain.DataOutcome o = get(c.data(SESSION, ENVELOPE, Route.DEFAULT, CONTENT));
        assertEquals(FilterDecision.Action.CONTINUE, o.decision().action());
        assertTrue(java.util.Arrays.equals(CONTENT, o.content()));
    }

    @Test
    public void hasIsExactPerStage() throws Exception {
        FilterChain c = chain(List.of(filter((RcptFilter) (s, f, r) -> FilterDecision.proceed(), "r", 0),
                filter((DataFilter) (s, e, r, m) -> FilterDecision.proceed(), "d", 0)));
        assertTrue(c.has(Stage.RCPT));
        assertTrue(c.has(Stage.DATA));
        assertFalse(c.has(Stage.CONNECT));
        assertFalse(c.has(Stage.MAIL));
        assertFalse(c.has(Stage.PRE_DELIVERY));
    }

    /** A filter object serving every stage, for chains that bind one object under several interfaces. */
    private static final class AllStages implements ConnectFilter, MailFilter, RcptFilter {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());

        @Override
        public FilterDecision onConnect(SessionInfo session) {
            seen.add("connect");
            return FilterDecision.proceed();
        }

        @Override
        public FilterDecision onMail(SessionInfo session, MailAddress sender, Map<String, String> parameters) {
            seen.add("mail " + parameters.get("SIZE"));
            return FilterDecision.proceed();
        }

        @Override
        public FilterDecision onRcpt(SessionInfo session, MailAddress sender, Recipient recipient) {
            seen.add("rcpt " + recipient.address());
            return FilterDecision.proceed();
        }
    }

    @Test
    public void aValuelessMailParameterReachesTheFilterAsNull() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        FilterChain c = chain(List.of(filter((MailFilter) (s, f, p) -> {
            seen.add(p.containsKey("SMTPUTF8") + " " + p.get("SMTPUTF8") + " " + p.get("SIZE"));
            return FilterDecision.proceed();
        }, "m", 0)));
        Map<String, String> params = new LinkedHashMap<>();
        params.put("SIZE", "100");
        params.put("SMTPUTF8", null);
        assertEquals(FilterDecision.Action.CONTINUE, get(c.mail(SESSION, FROM, params)).action());
        assertEquals(List.of("true null 100"), seen);
    }

    @Test
    public void oneObjectServesEveryStageItImplements() throws Exception {
        AllStages all = new AllStages();
        FilterChain c = chain(List.of(filter(all, "all", 0)));
        assertTrue(c.has(Stage.CONNECT) && c.has(Stage.MAIL) && c.has(Stage.RCPT));
        assertFalse(c.has(Stage.DATA));
        get(c.connect(SESSION));
        get(c.mail(SESSION, FROM, Map.of("SIZE", "100")));
        rcpt(c);
        assertEquals(List.of("connect", "mail 100", "rcpt rcpt@to.test"), all.seen);
    }

    @Test
    public void filtersRunByRankingHighestFirstThenServiceIdNeverOnTheCallersThread() throws Exception {
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Thread caller = Thread.currentThread();
        List<Thread> threads = Collections.synchronizedList(new ArrayList<>());
        RcptFilter low = (s, f, r) -> {
            order.add("low");
            threads.add(Thread.currentThread());
            return FilterDecision.proceed();
        };
        RcptFilter highA = (s, f, r) -> {
            order.add("highA");
            threads.add(Thread.currentThread());
            return FilterDecision.proceed();
        };
        RcptFilter highB = (s, f, r) -> {
            order.add("highB");
            return FilterDecision.proceed();
        };
        FilterChain c = chain(List.of(filter(low, "low", -5), filter(highA, "highA", 100),
                filter(highB, "highB", 100)));
        assertEquals(FilterDecision.Action.CONTINUE, rcpt(c).action());
        assertEquals(List.of("highA", "highB", "low"), order);
        assertFalse("a filter ran on the caller's thread", threads.contains(caller));
    }

    @Test
    public void aFinalActionEndsTheStageWithTheChangesSoFar() throws Exception {
        AtomicInteger laterCalls = new AtomicInteger();
        FilterChain c = chain(List.of(
                filter((RcptFilter) (s, f, r) -> FilterDecision.reroute(RouteChange.pool("bulk")), "a", 30),
                filter((RcptFilter) (s, f, r) -> FilterDecision.reject(550, "5.7.1", "Blocked domain"), "b", 20),
                filter((RcptFilter) (s, f, r) -> {
                    laterCalls.incrementAndGet();
                    return FilterDecision.proceed();
                }, "c", 10)));
        FilterDecision d = rcpt(c);
        assertEquals(FilterDecision.Action.REJECT, d.action());
        assertEquals(SmtpReply.of(550, "5.7.1", "Blocked domain"), d.reply());
        assertEquals("bulk", d.route().pool());
        assertEquals("a filter after the final action was called", 0, laterCalls.get());

        FilterChain accepting = chain(List.of(
                filter((MailFilter) (s, f, p) -> FilterDecision.accept(), "acc", 20),
                filter((MailFilter) (s, f, p) -> FilterDecision.reject(554, "5.7.1", "no"), "rej", 10)));
        assertEquals(FilterDecision.Action.ACCEPT, get(accepting.mail(SESSION, FROM, Map.of())).action());
    }

    @Test
    public void mailAndRcptRunsTheMailStageThenTheRcptStageOffTheCallersThread() throws Exception {
        List<String> calls = Collections.synchronizedList(new ArrayList<>());
        Thread caller = Thread.currentThread();
        class Both implements MailFilter, RcptFilter {
            @Override
            public FilterDecision onMail(SessionInfo s, MailAddress f, Map<String, String> p) {
                calls.add("both-mail " + p + (Thread.currentThread() == caller ? " on the caller" : ""));
                return FilterDecision.reroute(RouteChange.pool("bulk"));
            }

            @Override
            public FilterDecision onRcpt(SessionInfo s, MailAddress f, Recipient r) {
                calls.add("both-rcpt " + r.address() + (Thread.currentThread() == caller ? " on the caller" : ""));
                return FilterDecision.proceed().withRecipientRewritten(MailAddress.parse("new@to.test"));
            }
        }
        FilterChain c = chain(List.of(
                filter(new Both(), "both", 30),
                filter((MailFilter) (s, f, p) -> {
                    calls.add("accepting-mail");
                    return FilterDecision.accept(); // ends the MAIL stage, not the RCPT stage
                }, "accepting", 20),
                filter((MailFilter) (s, f, p) -> {
                    calls.add("skipped-mail");
                    return FilterDecision.reject(554, "5.7.1", "never asked");
                }, "after-accept", 10),
                filter((RcptFilter) (s, f, r) -> {
                    calls.add("last-rcpt " + r.address());
                    return FilterDecision.reroute(RouteChange.pool("rcpt-pool"));
                }, "last", 5)));
        FilterChain.MailAndRcpt d = get(c.mailAndRcpt(SESSION, FROM, Map.of("SIZE", "10"), TO));
        assertEquals(List.of("both-mail {SIZE=10}", "accepting-mail", "both-rcpt rcpt@to.test", "last-rcpt new@to.test"),
                calls);
        assertEquals(FilterDecision.Action.ACCEPT, d.mail().action());
        assertEquals("bulk", d.mail().route().applyTo(Route.DEFAULT).pool());
        assertEquals(FilterDecision.Action.CONTINUE, d.rcpt().action());
        assertEquals(MailAddress.parse("new@to.test"), d.rcpt().rewrittenRecipient());
        assertEquals("the RCPT part's route is its own filters' changes", "rcpt-pool",
                d.rcpt().route().applyTo(Route.DEFAULT).pool());
    }

    @Test
    public void mailAndRcptCallsNoRcptFilterWhenTheMailStageRefuses() throws Exception {
        AtomicInteger rcptCalls = new AtomicInteger();
        FilterChain c = chain(List.of(
                filter((MailFilter) (s, f, p) -> FilterDecision.defer(451, "4.7.1", "greylisted"), "grey", 2),
                filter((RcptFilter) (s, f, r) -> {
                    rcptCalls.incrementAndGet();
                    return FilterDecision.proceed();
                }, "rcpt", 1)));
        FilterChain.MailAndRcpt d = get(c.mailAndRcpt(SESSION, FROM, Map.of(), TO));
        assertEquals(FilterDecision.Action.DEFER, d.mail().action());
        assertEquals(SmtpReply.of(451, "4.7.1", "greylisted"), d.mail().reply());
        assertNull(d.rcpt());
        assertEquals(0, rcptCalls.get());

        FilterChain throwing = chain(List.of(
                filter((MailFilter) (s, f, p) -> {
                    throw new IllegalStateException("broken");
                }, "broken", 2),
                filter((RcptFilter) (s, f, r) -> {
                    rcptCalls.incrementAndGet();
                    return FilterDecision.proceed();
                }, "rcpt2", 1)));
        d = get(throwing.mailAndRcpt(SESSION, FROM, Map.of(), TO));
        assertEquals("a MAIL filter that throws defers the transaction", FilterDecision.Action.DEFER, d.mail().action());
        assertEquals(451, d.mail().reply().code());
        assertNull(d.rcpt());
        assertEquals(0, rcptCalls.get());
    }

    @Test
    public void routeChangesAccumulateAndALaterFilterWins() throws Exception {
        FilterChain c = chain(List.of(
                filter((MailFilter) (s, f, p) -> FilterDecision.reroute(RouteChange.pool("first").withTenant("acme")
                        .withTag("a", "1")), "one", 2),
                filter((MailFilter) (s, f, p) -> FilterDecision.reroute(RouteChange.pool("second")
                        .withSmarthost("relay.test:2525").withTag("b", "2")), "two", 1)));
        FilterDecision d = get(c.mail(SESSION, FROM, Map.of()));
        assertEquals(FilterDecision.Action.CONTINUE, d.action());
        Route r = d.route().applyTo(Route.DEFAULT);
        assertEquals("second", r.pool());
        assertEquals("acme", r.tenant());
        assertEquals("relay.test:2525", r.smarthost());
        assertEquals(Map.of("a", "1", "b", "2"), r.tags());
    }

    @Test
    public void aRewrittenRecipientIsWhatLaterFiltersSee() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        FilterChain c = chain(List.of(
                filter((RcptFilter) (s, f, r) -> FilterDecision.proceed()
                        .withRecipientRewritten(MailAddress.parse("new@to.test")), "rewrite", 2),
                filter((RcptFilter) (s, f, r) -> {
                    seen.add(r.address().toString());
                    return FilterDecision.proceed();
                }, "look", 1)));
        FilterDecision d = rcpt(c);
        assertEquals(List.of("new@to.test"), seen);
        assertEquals(MailAddress.parse("new@to.test"), d.rewrittenRecipient());
    }

    @Test
    public void headerEditsAndRecipientChangesApplyBeforeTheNextFilter() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        Recipient other = Recipient.of(MailAddress.parse("other@to.test"));
        FilterChain c = chain(List.of(
                filter((DataFilter) (s, e, r, m) -> FilterDecision.reroute(RouteChange.NONE.withCampaign("spring"))
                        .withHeaderRemoved("x-old").withHeaderAdded("X-Tenant", "acme")
                        .withRecipients(List.of(other)), "edit", 2),
                filter((DataFilter) (s, e, r, m) -> {
                    seen.add(m.header("X-Tenant") + "|" + m.header("X-Old") + "|" + e.recipients().get(0).address()
                            + "|" + r.campaign() + "|" + m.size());
                    return FilterDecision.proceed();
                }, "look", 1)));
        FilterChain.DataOutcome o = get(c.data(SESSION, ENVELOPE, Route.DEFAULT, CONTENT));
        String out = new String(o.content(), StandardCharsets.US_ASCII);
        assertEquals(List.of("acme|null|other@to.test|spring|" + out.length()), seen);
        assertTrue(out, out.startsWith("X-Tenant: acme\r\nSubject: hello\r\nFrom: s@from.test\r\n\r\nBody line\r\n"));
        assertFalse("a folded line of a removed field was left: " + out, out.contains("folded"));
        assertEquals(List.of(other), o.envelope().recipients());
        assertEquals("spring", o.route().campaign());
        assertEquals(FilterDecision.Action.CONTINUE, o.decision().action());
    }

    @Test
    public void aHoldAtEndOfDataKeepsItsReasonAndTheRoute() throws Exception {
        FilterChain c = chain(List.of(
                filter((DataFilter) (s, e, r, m) -> FilterDecision.hold("review").withRoute(RouteChange.pool("q")),
                        "hold", 1)));
        FilterChain.DataOutcome o = get(c.data(SESSION, ENVELOPE, Route.DEFAULT, CONTENT));
        assertEquals(FilterDecision.Action.HOLD, o.decision().action());
        assertEquals("review", o.decision().holdReason());
        assertEquals("q", o.route().pool());
    }

    @Test
    public void preDeliveryMergesRoutesAndRecipients() throws Exception {
        Recipient other = Recipient.of(MailAddress.parse("other@to.test"));
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        FilterChain c = chain(List.of(
                filter((PreDeliveryFilter) (id, e, r, n) -> FilterDecision.reroute(RouteChange.smarthost("h.test:25"))
                        .withRecipients(List.of(other)), "a", 2),
                filter((PreDeliveryFilter) (id, e, r, n) -> {
                    seen.add(id + " " + r.smarthost() + " " + e.recipients().get(0).address() + " " + n);
                    return FilterDecision.reroute(RouteChange.pool("p"));
                }, "b", 1)));
        FilterDecision d = get(c.beforeDelivery("Q1", ENVELOPE, Route.DEFAULT, 3));
        assertEquals(List.of("Q1 h.test:25 other@to.test 3"), seen);
        assertEquals(List.of(other), d.recipients());
        assertEquals("h.test:25", d.route().applyTo(Route.DEFAULT).smarthost());
        assertEquals("p", d.route().applyTo(Route.DEFAULT).pool());
    }

    @Test
    public void aFilterThatThrowsDefersWith451AndEndsTheStage() throws Exception {
        AtomicInteger laterCalls = new AtomicInteger();
        FilterChain c = chain(List.of(
                filter((RcptFilter) (s, f, r) -> {
                    throw new IllegalStateException("boom");
                }, "throws", 2),
                filter((RcptFilter) (s, f, r) -> {
                    laterCalls.incrementAndGet();
                    return FilterDecision.accept();
                }, "after", 1)));
        FilterDecision d = rcpt(c);
        assertEquals(FilterDecision.Action.DEFER, d.action());
        assertEquals(451, d.reply().code());
        assertEquals("4.3.0", d.reply().enhancedStatus());
        assertEquals("a failure must not let mail pass to later filters", 0, laterCalls.get());
    }

    @Test
    public void aFilterBuildingAnUnsafeReplyFailsInsteadOfInjectingLines() throws Exception {
        FilterChain c = chain(List.of(filter((RcptFilter) (s, f, r) ->
                FilterDecision.reject(550, "5.7.1", "no\r\n250 2.1.5 Ok"), "injects", 0)));
        FilterDecision d = rcpt(c);
        assertEquals(FilterDecision.Action.DEFER, d.action());
        assertEquals("4.3.0", d.reply().enhancedStatus());
        assertEquals(1, d.reply().lines().size());
    }

    @Test
    public void aFilterThatReturnsNothingOrOverflowsFailsSafe() throws Exception {
        FilterChain nothing = chain(List.of(filter((MailFilter) (s, f, p) -> null, "null", 0)));
        assertEquals(FilterDecision.Action.DEFER, get(nothing.mail(SESSION, FROM, Map.of())).action());
        FilterChain overflow = chain(List.of(filter((ConnectFilter) s -> recurse(1), "deep", 0)));
        assertEquals(FilterDecision.Action.DEFER, get(overflow.connect(SESSION)).action());
        FilterChain data = chain(List.of(filter((DataFilter) (s, e, r, m) -> {
            throw new OutOfMemoryError("pretend");
        }, "oom", 0)));
        FilterChain.DataOutcome o = get(data.data(SESSION, ENVELOPE, Route.DEFAULT, CONTENT));
        assertEquals(FilterDecision.Action.DEFER, o.decision().action());
    }

    private static FilterDecision recurse(int n) {
        return n < 0 ? FilterDecision.proceed() : recurse(n + 1);
    }

    @Test
    public void onFailureRejectRejectsWith554() throws Exception {
        FilterChain c = chain(List.of(filter((RcptFilter) (s, f, r) -> {
            throw new RuntimeException("boom");
        }, "strict", 0, FilterProperties.ON_FAILURE, "reject")));
        FilterDecision d = rcpt(c);
        assertEquals(FilterDecision.Action.REJECT, d.action());
        assertEquals(554, d.reply().code());
        assertEquals("5.3.0", d.reply().enhancedStatus());
    }

    @Test
    public void aFilterPastItsBudgetDefersInTime() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        toRelease.add(never);
        FilterChain c = chain(List.of(filter((RcptFilter) (s, f, r) -> {
            never.await(); // blocks until the test ends (or it is interrupted)
            return FilterDecision.accept();
        }, "sleepy", 0, FilterProperties.TIMEOUT_MILLIS, 300L)));
        long t0 = System.nanoTime();
        FilterDecision d = rcpt(c);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(FilterDecision.Action.DEFER, d.action());
        assertEquals("4.3.0", d.reply().enhancedStatus());
        assertTrue("took " + ms + " ms for a 300 ms budget", ms >= 250 && ms < 3000);
    }

    @Test
    public void aStuckFilterDoesNotStallOtherCalls() throws Exception {
        CountDownLatch stuck = new CountDownLatch(1);
        toRelease.add(stuck);
        FilterChain c = chain(List.of(
                filter((MailFilter) (s, f, p) -> {
                    while (true) { // ignores interruption: the worst case
                        try {
                            if (stuck.await(60, TimeUnit.SECONDS)) {
                                return FilterDecision.proceed();
                            }
                        } catch (InterruptedException e) {
                            // keeps waiting
                        }
                    }
                }, "stuck", 0, FilterProperties.TIMEOUT_MILLIS, 200L),
                filter((RcptFilter) (s, f, r) -> FilterDecision.reroute(RouteChange.pool("fast")), "fast", 0)));
        List<CompletionStage<FilterDecision>> mails = new ArrayList<>();
        for (int i = 0; i < 300; i++) { // more stuck calls than any sane thread pool has threads
            mails.add(c.mail(SESSION, FROM, Map.of()));
        }
        long t0 = System.nanoTime();
        FilterDecision d = rcpt(c);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("fast", d.route().pool());
        assertTrue("another filter waited " + ms + " ms behind a stuck one", ms < 1000);
        for (CompletionStage<FilterDecision> m : mails) {
            assertEquals(FilterDecision.Action.DEFER, get(m).action());
        }
    }

    @Test
    public void stagesAreIndependentCalls() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        FilterChain c = chain(List.of(filter((RcptFilter) (s, f, r) -> calls.incrementAndGet() % 2 == 0
                ? FilterDecision.defer(451, "4.7.1", "later") : FilterDecision.proceed(), "alt", 0)));
        FilterDecision first = rcpt(c);
        FilterDecision second = rcpt(c);
        assertNotEquals(first.action(), second.action());
        assertNull(first.reply());
        assertEquals("4.7.1", second.reply().enhancedStatus());
    }
}
