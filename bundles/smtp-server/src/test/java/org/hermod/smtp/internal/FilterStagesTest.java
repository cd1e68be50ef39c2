package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.RouteChange;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.SpoolFullException;
import org.junit.Test;

/** The routing filter stages as the SMTP session calls them and acts on their decisions (a fake chain). */
public class FilterStagesTest {

    private static final String TX = "EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n";
    private static final String MESSAGE = "DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n";

    private final AtomicReference<FilterChain> installed = new AtomicReference<>();

    /** MAIL filters answer MAIL itself (delayMailFilters = false), as most tests here expect. */
    private Harness harness(FilterChain chain) {
        installed.set(chain);
        return new Harness(s -> s.withFilters(installed::get), null, null, "delayMailFilters", false);
    }

    /** The default: MAIL filters run with the first recipient that passes Hermod's own checks. */
    private Harness delayed(FilterChain chain) {
        installed.set(chain);
        return new Harness(s -> s.withFilters(installed::get), null, null);
    }

    // ------------------------------------------------------------------ connect

    @Test
    public void connectRejectIsA554GreetingAndClosesTheConnection() {
        CompletableFuture<FilterDecision> later = new CompletableFuture<>();
        Harness h = harness(new FakeFilterChain().on(Stage.CONNECT, c -> later));
        later.complete(FilterDecision.reject(550, "5.7.1", "go away"));
        h.ch.runPendingTasks();
        assertEquals("554 5.7.1 go away\r\n", h.replies());
        assertFalse(h.ch.isActive());
    }

    @Test
    public void connectDeferIsA421GreetingAndClosesTheConnection() {
        CompletableFuture<FilterDecision> later = new CompletableFuture<>();
        Harness h = harness(new FakeFilterChain().on(Stage.CONNECT, c -> later));
        later.complete(FilterDecision.defer(450, "4.7.1", "busy"));
        h.ch.runPendingTasks();
        assertEquals("421 4.7.1 busy\r\n", h.replies());
        assertFalse(h.ch.isActive());
    }

    @Test
    public void greetingWaitsForASlowConnectFilterAndEarlyInputWaitsForTheGreeting() {
        CompletableFuture<FilterDecision> later = new CompletableFuture<>();
        FakeFilterChain chain = new FakeFilterChain().on(Stage.CONNECT, c -> later);
        Harness h = harness(chain);
        assertEquals("", h.send("EHLO early.test\r\n"));
        assertEquals("127.0.0.1", chain.calls.get(0).session().clientAddress());
        assertEquals("default", chain.calls.get(0).session().listener());
        assertNull(chain.calls.get(0).session().heloName());
        assertEquals(h.ch.id().asLongText(), chain.calls.get(0).session().sessionId());
        later.complete(FilterDecision.proceed());
        h.ch.runPendingTasks();
        String r = h.replies();
        assertTrue(r, r.startsWith("220 mx.test ESMTP") && r.contains("250-mx.test") && r.endsWith("250 HELP\r\n"));
    }

    // ------------------------------------------------------------------ MAIL and RCPT

    @Test
    public void mailRejectAndDeferAnswerTheCommandAndStartNoTransaction() {
        Harness h = harness(new FakeFilterChain().on(Stage.MAIL, c -> CompletableFuture.completedFuture(
                c.detail().startsWith("spam@") ? FilterDecision.reject(550, "5.7.1", "sender blocked")
                        : FilterDecision.defer(451, "4.7.1", "greylisted"))));
        String r = h.send("EHLO c.test\r\nMAIL FROM:<spam@x.test>\r\nRCPT TO:<b@y.test>\r\n");
        assertTrue(r, r.contains("550 5.7.1 sender blocked\r\n503 5.5.1 Error: need MAIL command\r\n"));
        r = h.send("MAIL FROM:<ok@x.test>\r\nRCPT TO:<b@y.test>\r\n");
        assertEquals("451 4.7.1 greylisted\r\n503 5.5.1 Error: need MAIL command\r\n", r);
    }

    @Test
    public void delayedMailRejectAnswersEveryRecipientOfTheTransactionAndItsFiltersRunOnce() {
        FakeFilterChain chain = new FakeFilterChain().on(Stage.MAIL, c -> CompletableFuture.completedFuture(
                c.detail().startsWith("spam@") ? FilterDecision.reject(550, "5.7.1", "sender blocked")
                        : FilterDecision.defer(451, "4.7.1", "greylisted")))
                .on(Stage.RCPT, FilterDecision.proceed());
        Harness h = delayed(chain);
        String r = h.send("EHLO c.test\r\nMAIL FROM:<spam@x.test>\r\n");
        assertTrue(r, r.endsWith("250 2.1.0 Ok\r\n"));
        assertEquals("no MAIL filter before a recipient", 0, chain.calls.size());
        r = h.send("RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n" + MESSAGE);
        assertTrue(r, r.startsWith("550 5.7.1 sender blocked\r\n550 5.7.1 sender blocked\r\n"
                + "554 5.5.1 Error: no valid recipients\r\n"));
        assertEquals("the MAIL filters ran once, the RCPT filters never", 1, chain.count(Stage.MAIL));
        assertEquals(0, chain.count(Stage.RCPT));
        assertTrue(h.spool.envelopes.isEmpty());
        // a new transaction runs the MAIL filters again: a defer answers its recipients with the 4xx
        r = h.send("RSET\r\nMAIL FROM:<ok@x.test>\r\nRCPT TO:<b@y.test>\r\n");
        assertEquals("250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n451 4.7.1 greylisted\r\n", r);
        assertEquals(2, chain.count(Stage.MAIL));
    }

    @Test
    public void aSenderRefusedByDelayedMailFiltersCannotProbeRecipientsNorRunUpTheErrorLimit() {
        FakeFilterChain chain = new FakeFilterChain().on(Stage.MAIL, FilterDecision.reject(550, "5.7.1", "sender blocked"));
        installed.set(chain);
        // a stranger (not in mynetworks) sending to a relay domain whose recipients are listed; 3 errors end a session
        Harness h = new Harness(s -> s.withFilters(installed::get), RecipientMap.of("alice@relay.test"), null,
                "mynetworks", new String[] {"10.99.0.0/16"}, "maxErrors", 3);
        h.send("EHLO c.test\r\nMAIL FROM:<spam@x.test>\r\n");
        StringBuilder rcpts = new StringBuilder("RCPT TO:<alice@relay.test>\r\n");
        for (int i = 0; i < 5; i++) {
            rcpts.append("RCPT TO:<guess").append(i).append("@relay.test>\r\n");
        }
        String r = h.send(rcpts.toString());
        assertEquals("every recipient, listed or not, hears the sender's refusal, which counts as one error",
                "550 5.7.1 sender blocked\r\n".repeat(6), r);
        assertTrue(h.ch.isActive());
        assertEquals(1, chain.count(Stage.MAIL));
    }

    @Test
    public void delayedMailFiltersRunWithTheFirstAcceptedRecipientAndTheirRouteAndHoldApply() {
        FakeFilterChain chain = new FakeFilterChain()
                .on(Stage.MAIL, FilterDecision.hold("review").withRoute(RouteChange.pool("bulk")))
                .on(Stage.RCPT, FilterDecision.proceed());
        Harness h = delayed(chain);
        String r = h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n"
                + MESSAGE);
        assertTrue(r, r.endsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                + "250 2.0.0 Ok: queued as Q1\r\n"));
        assertEquals(1, chain.count(Stage.MAIL));
        assertEquals(2, chain.count(Stage.RCPT));
        assertEquals("MAIL, then the first RCPT, then the second", java.util.List.of(Stage.MAIL, Stage.RCPT, Stage.RCPT),
                chain.calls.stream().map(FakeFilterChain.Call::stage).toList());
        assertEquals("bulk", h.spool.routes.get(0).pool());
        assertEquals("review", h.spool.holds.get(0));
    }

    @Test
    public void mailFilterSeesTheSessionAndTheParameters() {
        FakeFilterChain chain = new FakeFilterChain().on(Stage.MAIL, FilterDecision.proceed());
        Harness h = harness(chain);
        assertTrue(h.send("EHLO c.test\r\nMAIL FROM:<a@x.test> SIZE=100 BODY=8BITMIME\r\n").endsWith("250 2.1.0 Ok\r\n"));
        FakeFilterChain.Call c = chain.calls.get(0);
        assertEquals("c.test", c.session().heloName());
        assertFalse(c.session().tls());
        assertNull(c.session().authUser());
        assertEquals("a@x.test {SIZE=100, BODY=8BITMIME}", c.detail());
    }

    @Test
    public void rcptRejectDeferAndRewrite() {
        Harness h = harness(new FakeFilterChain().on(Stage.RCPT, c -> CompletableFuture.completedFuture(
                switch (c.detail()) {
                    case "no@y.test" -> FilterDecision.reject(550, "5.1.1", "no such user here");
                    case "later@y.test" -> FilterDecision.defer(452, "4.2.2", "mailbox full");
                    case "old@y.test" -> FilterDecision.proceed().withRecipientRewritten(MailAddress.parse("new@z.test"));
                    default -> FilterDecision.proceed();
                })));
        String r = h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<no@y.test>\r\nRCPT TO:<later@y.test>\r\n"
                + "RCPT TO:<old@y.test> NOTIFY=FAILURE,DELAY\r\nRCPT TO:<keep@y.test> ORCPT=rfc822;orig@y.test\r\n"
                + MESSAGE);
        assertTrue(r, r.contains("550 5.1.1 no such user here\r\n452 4.2.2 mailbox full\r\n250 2.1.5 Ok\r\n"
                + "250 2.1.5 Ok\r\n354"));
        assertTrue(r, r.endsWith("250 2.0.0 Ok: queued as Q1\r\n"));
        java.util.List<Recipient> rcpts = h.spool.envelopes.get(0).recipients();
        assertEquals(2, rcpts.size());
        assertEquals("new@z.test", rcpts.get(0).address().toString());
        assertEquals(Set.of(Recipient.Notify.FAILURE, Recipient.Notify.DELAY), rcpts.get(0).notifyOn());
        assertEquals("rfc822;old@y.test", rcpts.get(0).orcpt());
        assertEquals("keep@y.test", rcpts.get(1).address().toString());
        assertEquals("rfc822;orig@y.test", rcpts.get(1).orcpt());
    }

    @Test
    public void routeChangesOfConnectMailAndRcptAccumulateIntoTheStoredRoute() {
        FakeFilterChain chain = new FakeFilterChain()
                .on(Stage.CONNECT, FilterDecision.reroute(RouteChange.NONE.withTenant("acme")))
                .on(Stage.MAIL, FilterDecision.reroute(RouteChange.pool("bulk").withCampaign("spring")))
                .on(Stage.RCPT, c -> CompletableFuture.completedFuture(c.detail().equals("b@y.test")
                        ? FilterDecision.reroute(RouteChange.pool("transactional").withTag("k", "v"))
                        : FilterDecision.proceed()))
                .onData(FilterDecision.proceed());
        Harness h = harness(chain);
        h.ch.runPendingTasks();
        h.replies();
        assertTrue(h.send(TX + "RCPT TO:<c@y.test>\r\n" + MESSAGE).endsWith("250 2.0.0 Ok: queued as Q1\r\n"));
        Route expected = new Route("transactional", null, "acme", "spring", 0, java.util.Map.of("k", "v"));
        assertEquals(expected, h.spool.routes.get(0));
        assertEquals("the data stage sees the route decided so far", expected, chain.calls.get(chain.calls.size() - 1)
                .route());
        // the next transaction starts again from the connection's route
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<c@y.test>\r\n" + MESSAGE).endsWith("queued as Q2\r\n"));
        assertEquals(new Route("bulk", null, "acme", "spring", 0, java.util.Map.of()), h.spool.routes.get(1));
    }

    @Test
    public void aRecipientRoutedElsewhereThanTheAcceptedOnesIsDeferredToANewTransaction() {
        FakeFilterChain chain = new FakeFilterChain()
                .on(Stage.RCPT, c -> CompletableFuture.completedFuture(switch (c.detail()) {
                    case "a@partner.test", "a2@partner.test" -> FilterDecision.reroute(
                            RouteChange.smarthost("relay.partner.test:25").withTenant("partner"));
                    case "p@y.test" -> FilterDecision.reroute(RouteChange.pool("bulk"));
                    case "t@y.test" -> FilterDecision.reroute(RouteChange.NONE.withCampaign("c1"));
                    default -> FilterDecision.proceed();
                }));
        Harness h = harness(chain);
        String r = h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<a@partner.test>\r\n"
                + "RCPT TO:<b@gmail.test>\r\nRCPT TO:<p@y.test>\r\nRCPT TO:<a2@partner.test>\r\n" + MESSAGE);
        String retry = "452 4.5.3 Error: recipient needs another route; send it in a new transaction\r\n";
        assertTrue(r, r.contains("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + retry + retry + "250 2.1.5 Ok\r\n354"));
        assertEquals(2, h.spool.envelopes.get(0).recipients().size());
        assertEquals("relay.partner.test:25", h.spool.routes.get(0).smarthost());
        // the client sends the deferred one again, alone: it takes the default route, not the partner's smarthost;
        // a change of campaign only merges
        r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@gmail.test>\r\nRCPT TO:<t@y.test>\r\n"
                + "RCPT TO:<a@partner.test>\r\n" + MESSAGE);
        assertTrue(r, r.contains("250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n" + retry + "354"));
        assertEquals(java.util.List.of("b@gmail.test", "t@y.test"), h.spool.envelopes.get(1).recipients().stream()
                .map(x -> x.address().toString()).toList());
        assertEquals(new Route(null, null, null, "c1", 0, java.util.Map.of()), h.spool.routes.get(1));
    }

    @Test
    public void withoutARoutingBundleMailIsDeferredWhenFiltersAreRequiredAndBounceInputStillPasses() {
        RecipientPolicy local = new RecipientPolicy() {
            @Override
            public boolean isLocalDomain(String domain) {
                return domain.equals("bounces.test");
            }

            @Override
            public String refusal(MailAddress recipient) {
                return null;
            }

            @Override
            public boolean isBounceInput(org.hermod.api.Envelope envelope) {
                return envelope.recipients().get(0).address().domain().equals("bounces.test");
            }

            @Override
            public java.util.concurrent.CompletionStage<String> acceptBounce(org.hermod.api.Envelope e, byte[] c) {
                return CompletableFuture.completedFuture("250 2.0.0 Ok: bounce processed");
            }
        };
        Harness h = new Harness(s -> new SessionServices(s.spool(), local, s.mode(), s.tls(), s.auth(),
                s.rates(), s.recipients(), s.events(), s.verifier(), null, installed::get, "default", s.spoolHealth()),
                null, null,
                "filtersRequired", true);
        String unavailable = "451 4.3.0 Error: routing filters unavailable, try again later\r\n";
        assertTrue(h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\n").endsWith(unavailable));
        String r = h.send("MAIL FROM:<>\r\nRCPT TO:<b@relay.test>\r\nRCPT TO:<v+x@bounces.test>\r\n" + MESSAGE);
        assertTrue(r, r.startsWith("250 2.1.0 Ok\r\n" + unavailable + "250 2.1.5 Ok\r\n354"));
        assertTrue(r, r.endsWith("250 2.0.0 Ok: bounce processed\r\n"));
        assertTrue(h.spool.envelopes.isEmpty());
        // the routing bundle is back: the next transaction is filtered (its MAIL filters answer the first RCPT)
        installed.set(new FakeFilterChain().on(Stage.MAIL, FilterDecision.reject(550, "5.7.1", "filtered")));
        assertEquals("250 2.1.0 Ok\r\n550 5.7.1 filtered\r\n",
                h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n"));
        // false: today's pass-through
        installed.set(null);
        Harness open = new Harness(s -> s.withFilters(installed::get), null, null, "filtersRequired", false);
        assertTrue(open.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n" + MESSAGE)
                .endsWith("queued as Q1\r\n"));
    }

    @Test
    public void holdAtMailOrRcptHoldsTheStoredMessage() {
        Harness h = harness(new FakeFilterChain()
                .on(Stage.MAIL, c -> CompletableFuture.completedFuture(c.detail().startsWith("held@")
                        ? FilterDecision.hold("sender under review") : FilterDecision.proceed()))
                .on(Stage.RCPT, c -> CompletableFuture.completedFuture(c.detail().equals("q@y.test")
                        ? FilterDecision.hold("recipient quarantined") : FilterDecision.proceed())));
        assertTrue(h.send("EHLO c.test\r\nMAIL FROM:<held@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE)
                .endsWith("queued as Q1\r\n"));
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<q@y.test>\r\n" + MESSAGE)
                .endsWith("queued as Q2\r\n"));
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("queued as Q3\r\n"));
        assertEquals(java.util.Arrays.asList("sender under review", "recipient quarantined", null), h.spool.holds);
        assertEquals(2, h.spool.envelopes.get(1).recipients().size());
    }

    @Test
    public void discardAtMailDropsTheMessageAndAtRcptDropsTheRecipient() {
        FakeFilterChain chain = new FakeFilterChain()
                .on(Stage.CONNECT, FilterDecision.discard()) // not supported there: the session goes on
                .on(Stage.MAIL, c -> CompletableFuture.completedFuture(c.detail().startsWith("drop@")
                        ? FilterDecision.discard() : FilterDecision.proceed()))
                .on(Stage.RCPT, c -> CompletableFuture.completedFuture(c.detail().startsWith("gone")
                        ? FilterDecision.discard() : FilterDecision.proceed()));
        Harness h = harness(chain);
        h.ch.runPendingTasks();
        h.replies(); // the greeting
        assertEquals(1, chain.count(Stage.CONNECT));
        assertTrue(h.ch.isActive());
        String r = h.send("EHLO c.test\r\nMAIL FROM:<drop@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE);
        assertTrue(r, r.endsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                + "250 2.0.0 Ok: queued as Q1\r\n"));
        assertTrue("a transaction discarded at MAIL is stored nowhere", h.spool.envelopes.isEmpty());
        r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<gone1@y.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE);
        assertTrue(r, r.startsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354"));
        assertEquals(java.util.List.of("b@y.test"), h.spool.envelopes.get(0).recipients().stream()
                .map(x -> x.address().toString()).toList());
        // every recipient discarded: DATA is accepted and the message dropped, as for a discarded transaction
        r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<gone2@y.test>\r\n" + MESSAGE);
        assertTrue(r, r.endsWith("354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q3\r\n"));
        r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<gone3@y.test>\r\nBDAT 7 LAST\r\nhello\r\n");
        assertTrue(r, r.endsWith("250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as Q4\r\n"));
        assertEquals(1, h.spool.envelopes.size());
        // without any recipient at all DATA is still refused
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nDATA\r\n").endsWith("554 5.5.1 Error: no valid recipients\r\n"));
    }

    @Test
    public void aRewrittenRecipientPassesHermodsOwnChecksAgain() {
        FakeFilterChain chain = new FakeFilterChain().on(Stage.RCPT, c -> CompletableFuture.completedFuture(
                switch (c.detail()) {
                    case "out@relay.test" -> FilterDecision.proceed().withRecipientRewritten(MailAddress.parse("x@far.test"));
                    case "long@relay.test" -> FilterDecision.proceed().withRecipientRewritten(
                            MailAddress.parse("a".repeat(65) + "@relay.test"));
                    case "utf@relay.test" -> FilterDecision.proceed().withRecipientRewritten(
                            MailAddress.parse("j\u00f6rg@relay.test"));
                    case "dup@relay.test" -> FilterDecision.proceed().withRecipientRewritten(
                            MailAddress.parse("b@relay.test"));
                    case "in@relay.test" -> FilterDecision.proceed().withRecipientRewritten(
                            MailAddress.parse("c@sub.relay.test"));
                    default -> FilterDecision.proceed();
                })).onDataAnswer(c -> CompletableFuture.completedFuture(new FilterChain.DataOutcome(
                        FilterDecision.proceed(), c.detail().contains("b@relay.test, b@relay.test") ? null
                        : org.hermod.api.Envelope.local(MailAddress.parse("a@x.test"), java.util.List.of(
                                Recipient.of(MailAddress.parse("b@relay.test")),
                                Recipient.of(MailAddress.parse(c.detail().contains("c@sub") ? "b@relay.test"
                                        : "y@far.test"))), org.hermod.api.Envelope.BodyType.SEVEN_BIT),
                        c.route(), c.content())));
        // a client outside mynetworks, not authenticated
        Harness h = new Harness(s -> s.withFilters(() -> chain), null, null, "mynetworks", new String[] {"10.9.0.0/16"});
        String r = h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n"
                + "RCPT TO:<out@relay.test>\r\nRCPT TO:<long@relay.test>\r\nRCPT TO:<utf@relay.test>\r\n"
                + "RCPT TO:<dup@relay.test>\r\nRCPT TO:<in@relay.test>\r\n" + MESSAGE);
        assertTrue(r, r.contains("250 2.1.5 Ok\r\n554 5.7.1 <x@far.test>: Relay access denied\r\n"
                + "501 5.1.3 Bad recipient address syntax: local part longer than 64 octets\r\n"
                + "553 5.6.7 Must declare SMTPUTF8 to send an internationalized address\r\n"
                + "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354"));
        // the data filter's recipients: the duplicate is removed (c@sub.relay.test was replaced by b@relay.test)
        assertTrue(r, r.endsWith("queued as Q1\r\n"));
        assertEquals(java.util.List.of("b@relay.test"), h.spool.envelopes.get(0).recipients().stream()
                .map(x -> x.address().toString()).toList());
        // and one to a domain the client may not relay to refuses the message as RCPT would have
        r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n" + MESSAGE);
        assertTrue(r, r.endsWith("354 End data with <CR><LF>.<CR><LF>\r\n554 5.7.1 <y@far.test>: Relay access denied\r\n"));
        assertEquals(1, h.spool.envelopes.size());
    }

    @Test
    public void aMessageWhoseSessionClosedWhileItsDataStageRanIsNotStoredAndItsMemoryIsReleasedOnce() {
        CompletableFuture<FilterChain.DataOutcome> later = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicReference<FakeFilterChain.Call> seen = new AtomicReference<>();
        Harness h = harness(new FakeFilterChain().onDataAnswer(c -> {
            seen.set(c);
            return later;
        }));
        h.send(TX + MESSAGE);
        assertTrue("the message's memory is reserved while its filters run", h.budget.used() > 0);
        h.ch.advanceTimeBy(9, TimeUnit.MINUTES);
        h.ch.runPendingTasks();
        assertTrue(h.ch.isActive());
        assertTrue(h.budget.used() > 0);
        h.ch.advanceTimeBy(61, TimeUnit.SECONDS); // the watchdog: twice the command timeout
        h.ch.runPendingTasks();
        assertTrue(h.replies().startsWith("421 4.3.0 mx.test Error: local processing did not complete"));
        assertFalse(h.ch.isActive());
        assertEquals(0, h.budget.used());
        FakeFilterChain.Call c = seen.get();
        later.complete(new FilterChain.DataOutcome(FilterDecision.proceed(), null, c.route(), c.content()));
        h.ch.runPendingTasks();
        assertTrue("the client got 421 and will retry: storing it too would deliver it twice",
                h.spool.envelopes.isEmpty());
        assertEquals("released exactly once", 0, h.budget.used());
    }

    // ------------------------------------------------------------------ pipelining and timing

    @Test
    public void pipelinedCommandsWaitForAnAsynchronousFilterAndAreAnsweredInOrder() throws Exception {
        CompletableFuture<FilterDecision> mail = new CompletableFuture<>();
        CompletableFuture<FilterDecision> rcpt = new CompletableFuture<>();
        FakeFilterChain chain = new FakeFilterChain().on(Stage.MAIL, c -> mail)
                .on(Stage.RCPT, c -> c.detail().equals("b@y.test") ? rcpt
                        : CompletableFuture.completedFuture(FilterDecision.reject(550, "5.7.1", "not c")));
        Harness h = harness(chain);
        h.send("EHLO c.test\r\n");
        assertEquals("", h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n"
                + "Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\n"));
        assertEquals("nothing after MAIL is decoded while its filter runs", 1, chain.calls.size());
        Thread t = new Thread(() -> mail.complete(FilterDecision.proceed())); // as a filter thread would
        t.start();
        t.join();
        h.ch.runPendingTasks();
        assertEquals("250 2.1.0 Ok\r\n", h.replies());
        rcpt.complete(FilterDecision.proceed());
        String r = h.sendAndAwait("");
        assertEquals("250 2.1.5 Ok\r\n550 5.7.1 not c\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                + "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n", r);
        assertTrue(h.content(0).contains("Subject: pipelined"));
    }

    /** Completes a stage's future the way a filter thread does: off the session's event loop. */
    private static void completeOnAnotherThread(CompletableFuture<FilterDecision> stage, FilterDecision d) {
        Thread t = new Thread(() -> stage.complete(d));
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void aClientThatKeepsSendingWhileAFilterRunsIsNotReadFromUntilTheFilterDecided() {
        CompletableFuture<FilterDecision> slow = new CompletableFuture<>();
        Harness h = harness(new FakeFilterChain().on(Stage.RCPT, c -> slow));
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        h.ch.pipeline().addFirst(new io.netty.channel.ChannelOutboundHandlerAdapter() {
            @Override
            public void read(io.netty.channel.ChannelHandlerContext ctx) {
                reads.incrementAndGet(); // what the socket would be asked to read
                ctx.read();
            }
        });
        h.send(TX);
        assertTrue("a client that waits for its reply is not throttled", h.ch.config().isAutoRead());
        reads.set(0); // counts from here: the channel asks for the next read after every read while autoRead is on
        for (int i = 0; i < 3; i++) {
            assertEquals("", h.send("NOOP\r\n"));
        }
        assertFalse("input during the stage stops reading from the socket", h.ch.config().isAutoRead());
        assertEquals("and no read is asked for while the input waits", 0, reads.get());
        completeOnAnotherThread(slow, FilterDecision.proceed());
        h.ch.runPendingTasks();
        assertEquals("250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n", h.replies());
        assertTrue("reading goes on once the held input is answered", h.ch.config().isAutoRead());
        assertEquals("250 2.0.0 Ok\r\n", h.send("NOOP\r\n"));
    }

    @Test
    public void aPipelinedGroupWithInputBehindAStageStopsReadingSoAFinAfterItIsNotReadBeforeTheReplies() {
        CompletableFuture<FilterDecision> slow = new CompletableFuture<>();
        Harness h = harness(new FakeFilterChain().on(Stage.RCPT, c -> slow));
        h.send(TX + "QUIT\r\n"); // one read: the RCPT stage starts, QUIT waits behind it
        assertFalse("input held behind the stage stops reading (a FIN after it stays in the kernel)",
                h.ch.config().isAutoRead());
        completeOnAnotherThread(slow, FilterDecision.proceed());
        h.ch.runPendingTasks();
        String replies = h.replies();
        assertTrue(replies, replies.startsWith("250 2.1.5 Ok\r\n221 "));
    }

    @Test
    public void aSlowFilterIsNotCutOffByTheSessionTimeoutsAndTheSessionGoesOnAfterwards() {
        CompletableFuture<FilterDecision> slow = new CompletableFuture<>();
        Harness h = harness(new FakeFilterChain().on(Stage.RCPT, c -> slow));
        assertEquals("", h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n").replaceAll(
                "(?s)^250-mx.test.*250 HELP\r\n250 2.1.0 Ok\r\n", ""));
        h.ch.advanceTimeBy(8, TimeUnit.MINUTES); // past the 5-minute command timeout
        h.ch.runPendingTasks();
        assertEquals("", h.replies());
        assertTrue(h.ch.isActive());
        slow.complete(FilterDecision.proceed());
        h.ch.runPendingTasks();
        assertEquals("250 2.1.5 Ok\r\n", h.replies());
        assertEquals("250 2.0.0 Ok: queued as Q1\r\n", h.send(MESSAGE).replace("354 End data with <CR><LF>.<CR><LF>\r\n",
                ""));
        // the idle clock restarted when the filter answered: the session still times out when the client is idle
        h.ch.advanceTimeBy(6, TimeUnit.MINUTES);
        h.ch.runPendingTasks();
        assertTrue(h.replies().startsWith("421 4.4.2"));
    }

    @Test
    public void aStageThatNeverCompletesIsCutOffAfterTwiceTheCommandTimeout() {
        Harness h = harness(new FakeFilterChain().on(Stage.MAIL, c -> new CompletableFuture<>()));
        h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\n");
        h.ch.advanceTimeBy(9, TimeUnit.MINUTES);
        h.ch.runPendingTasks();
        assertTrue(h.ch.isActive());
        h.ch.advanceTimeBy(61, TimeUnit.SECONDS);
        h.ch.runPendingTasks();
        assertTrue(h.replies().startsWith("421 4.3.0 mx.test Error: local processing did not complete"));
        assertFalse(h.ch.isActive());
    }

    @Test
    public void aStageNoFilterServesIsSkippedWithoutACall() {
        FakeFilterChain chain = new FakeFilterChain().on(Stage.RCPT, FilterDecision.proceed());
        Harness h = harness(chain);
        assertTrue(h.send(TX + MESSAGE).endsWith("queued as Q1\r\n"));
        assertEquals(1, chain.calls.size());
        assertEquals(Stage.RCPT, chain.calls.get(0).stage());
    }

    @Test
    public void aTransactionKeepsItsChainAndTheNextOneTakesTheNewlyInstalledChain() {
        FakeFilterChain first = new FakeFilterChain().on(Stage.MAIL, FilterDecision.proceed())
                .on(Stage.RCPT, FilterDecision.proceed()).onData(FilterDecision.proceed());
        Harness h = harness(first);
        h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\n");
        FakeFilterChain second = new FakeFilterChain().on(Stage.RCPT,
                FilterDecision.reject(550, "5.7.1", "second chain"));
        installed.set(second); // e.g. bundle:update of a filter while the transaction runs
        assertTrue(h.send("RCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("queued as Q1\r\n"));
        assertEquals(3, first.calls.size());
        assertEquals(0, second.calls.size());
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n").endsWith("550 5.7.1 second chain\r\n"));
        installed.set(null); // routing bundle gone: no filters, the session goes on
        assertTrue(h.send("RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("queued as Q2\r\n"));
    }

    @Test
    public void aFailedStageDefersAndNeverAccepts() {
        Harness h = harness(new FakeFilterChain()
                .on(Stage.MAIL, c -> CompletableFuture.failedFuture(new IllegalStateException("boom")))
                .onDataAnswer(c -> {
                    throw new IllegalStateException("chain bug");
                }));
        assertTrue(h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\n").endsWith("451 4.3.0 Error: message filter"
                + " failed, try again later\r\n"));
        installed.set(new FakeFilterChain().onDataAnswer(c -> {
            throw new IllegalStateException("chain bug");
        }));
        String r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE);
        assertTrue(r, r.endsWith("451 4.3.0 Error: message filter failed, try again later\r\n"));
        assertTrue(h.spool.envelopes.isEmpty());
    }

    // ------------------------------------------------------------------ end of data

    @Test
    public void dataRejectAndDeferRefuseTheMessageWithTheFiltersReply() {
        Harness h = harness(new FakeFilterChain().onData(FilterDecision.reject(554, "5.7.1", "spam")));
        assertTrue(h.send(TX + MESSAGE).endsWith("354 End data with <CR><LF>.<CR><LF>\r\n554 5.7.1 spam\r\n"));
        installed.set(new FakeFilterChain().onData(FilterDecision.defer(451, "4.7.1", "scanner busy")));
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("451 4.7.1 scanner busy\r\n"));
        assertTrue(h.spool.envelopes.isEmpty());
    }

    @Test
    public void discardLooksLikeAcceptanceButStoresNothing() {
        Harness h = harness(new FakeFilterChain().onData(FilterDecision.discard()));
        assertTrue(h.send(TX + MESSAGE).endsWith("250 2.0.0 Ok: queued as Q1\r\n"));
        assertTrue(h.spool.envelopes.isEmpty());
    }

    @Test
    public void holdStoresTheMessageOnHoldWithItsReason() {
        Harness h = harness(new FakeFilterChain().onData(FilterDecision.hold("quarantine: attachment")));
        assertTrue(h.send(TX + MESSAGE).endsWith("250 2.0.0 Ok: queued as Q1\r\n"));
        assertEquals("quarantine: attachment", h.spool.holds.get(0));
    }

    @Test
    public void theDataFilterSeesTheReceivedHeaderAndItsHeaderChangesReachTheSpool() {
        FakeFilterChain chain = new FakeFilterChain().onData(c -> {
            String in = new String(c, StandardCharsets.UTF_8);
            return ("X-Scanned: clean\r\n" + in).getBytes(StandardCharsets.UTF_8);
        }, FilterDecision.proceed().withHeaderAdded("X-Scanned", "clean"));
        Harness h = harness(chain);
        assertTrue(h.send(TX + MESSAGE).endsWith("queued as Q1\r\n"));
        String seen = new String(chain.calls.get(0).content(), StandardCharsets.UTF_8);
        assertTrue(seen, seen.startsWith("Received: from c.test") && seen.endsWith("Subject: hi\r\n\r\nbody\r\n"));
        assertEquals("X-Scanned: clean\r\n" + seen, h.content(0));
        assertNull("not held", h.spool.holds.get(0));
    }

    @Test
    public void theDataFiltersRecipientsAndRouteAreStored() {
        Harness h = harness(new FakeFilterChain().onDataAnswer(c -> CompletableFuture.completedFuture(
                new FilterChain.DataOutcome(FilterDecision.proceed(), archived(), Route.DEFAULT.withPool("p"),
                        c.content()))));
        assertTrue(h.send(TX + MESSAGE).endsWith("queued as Q1\r\n"));
        assertEquals("archive@z.test", h.spool.envelopes.get(0).recipients().get(0).address().toString());
        assertEquals("p", h.spool.routes.get(0).pool());
    }

    /** An envelope whose recipients a filter replaced. */
    private static org.hermod.api.Envelope archived() {
        return org.hermod.api.Envelope.local(MailAddress.parse("a@x.test"),
                java.util.List.of(Recipient.of(MailAddress.parse("archive@z.test"))),
                org.hermod.api.Envelope.BodyType.SEVEN_BIT);
    }

    @Test
    public void theLastBdatChunkGoesThroughTheDataStage() {
        FakeFilterChain chain = new FakeFilterChain().onData(FilterDecision.reject(554, "5.7.1", "no chunks"));
        Harness h = harness(chain);
        String r = h.send(TX + "BDAT 7\r\nhello\r\nBDAT 8 LAST\r\n world\r\n");
        assertTrue(r, r.endsWith("250 2.0.0 7 octets received\r\n554 5.7.1 no chunks\r\n"));
        assertEquals(1, chain.count(Stage.DATA));
        assertTrue(h.spool.envelopes.isEmpty());
    }

    // ------------------------------------------------------------------ spool full (issue 10)

    @Test
    public void aFullSpoolAnswers452WithTheQueueFileSystemFullText() {
        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong();
        SpoolHealth health = new SpoolHealth(clock::get);
        Harness h = new Harness(s -> s.withSpoolHealth(health), null, null);
        h.spool.failure = new SpoolFullException("spool file system has 10 MB free, needs 64 MB");
        String r = h.send(TX + MESSAGE);
        assertTrue(r, r.endsWith("452 4.3.1 Error: insufficient system resources (queue file system full), try again"
                + " later\r\n"));
        // while the spool is known to be full, new transactions are refused at MAIL, before any data is sent
        assertEquals("452 4.3.1 Error: insufficient system resources (queue file system full), try again later\r\n",
                h.send("MAIL FROM:<a@x.test>\r\n"));
        Harness other = new Harness(s -> s.withSpoolHealth(health), null, null); // another client too
        assertTrue(other.send("EHLO d.test\r\nMAIL FROM:<a@x.test>\r\n").endsWith("452 4.3.1 Error: insufficient"
                + " system resources (queue file system full), try again later\r\n"));
        clock.addAndGet(SpoolHealth.WINDOW_NANOS); // then the next message tries the spool again
        h.spool.failure = new java.io.IOException("disk on fire");
        r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE);
        assertTrue(r, r.endsWith("451 4.3.0 Error: queue file write error\r\n"));
        h.spool.failure = null;
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("queued as Q3\r\n"));
        h.spool.failure = new SpoolFullException("full again");
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("try again later\r\n"));
        clock.addAndGet(SpoolHealth.WINDOW_NANOS);
        h.spool.failure = null;
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n" + MESSAGE).endsWith("queued as Q5\r\n"));
        assertEquals("250 2.1.0 Ok\r\n", other.send("MAIL FROM:<a@x.test>\r\n"));
        health.full(); // a message stored meanwhile (it was sent before the disk filled) ends the refusals at once
        health.stored();
        assertEquals("250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n", other.send("RSET\r\nMAIL FROM:<a@x.test>\r\n"));
    }
}
