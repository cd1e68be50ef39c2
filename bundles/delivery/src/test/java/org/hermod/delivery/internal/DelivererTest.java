package org.hermod.delivery.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.james.mime4j.dom.Entity;
import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.api.bounce.SuppressionEntry;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.spool.RecipientResult;
import org.hermod.api.spool.RecipientResult.Status;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.dsn.DsnBuilderTest;
import org.hermod.delivery.internal.smtp.ConnectionPool;
import org.hermod.delivery.internal.smtp.SmtpClient;
import org.hermod.delivery.internal.smtp.Timeouts;
import org.hermod.delivery.internal.testing.FakeQueue;
import org.hermod.api.testing.Poll;
import org.hermod.delivery.internal.testing.PreDeliveryChain;
import org.hermod.delivery.internal.testing.TestDnsServer;
import org.hermod.delivery.internal.testing.TestSmtpServer;
import org.hermod.delivery.internal.testing.TestSpool;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The dispatcher end to end: fake queue, in-test DNS and SMTP peers, real sockets. */
public class DelivererTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private TestDnsServer dns;
    private TestSmtpServer smtp;
    private FakeQueue queue;
    private TestSpool spool;
    private SmtpClient client;
    private ConnectionPool pool;
    private ScheduledExecutorService scheduler;
    private java.util.concurrent.ExecutorService io;
    private Dispatcher dispatcher;
    private AttemptRecorder recorder;
    private AccountingLog accounting;
    private Path logFile;
    private volatile DeliverySettings settings;
    private volatile ReturnPathCodec codec;
    private volatile SuppressionList suppression;
    private final List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
    private MxResolver resolver;
    private Deliverer deliverer;

    @Before
    public void setUp() throws Exception {
        dns = new TestDnsServer();
        smtp = new TestSmtpServer();
        dns.mx("dest.test", 10, "mx.dest.test").a("mx.dest.test", "127.0.0.1");
        dns.mx("limited.test", 10, "mx.dest.test");
        dns.mx("nomail.test", 0, ".");
        settings = DeliverySettings.defaults()
                .withDns(List.of(dns.address()), Duration.ofSeconds(2))
                .withSmtp(smtp.port(), Timeouts.uniform(Duration.ofSeconds(5)), 100, 100, Duration.ofSeconds(30))
                .withRetry(RetrySchedule.defaults(), Duration.ofDays(5), DomainOverrides.parse("limited.test: maxConnections=1"));
        queue = new FakeQueue();
        spool = new TestSpool();
        client = new SmtpClient(1);
        pool = new ConnectionPool(100, Duration.ofSeconds(30), 10);
        scheduler = Executors.newSingleThreadScheduledExecutor();
        io = Executors.newFixedThreadPool(2);
        recorder = new AttemptRecorder();
        logFile = tmp.getRoot().toPath().resolve("log/delivery.jsonl");
        accounting = new AccountingLog(logFile);
        recorder.accountingLog(accounting);
        recorder.addListener(events::add);
        resolver = new MxResolver(List.of(dns.address()), Duration.ofSeconds(2), 100, false);
        deliverer = new Deliverer(() -> settings, () -> resolver, client, pool, recorder, () -> spool, io,
                () -> codec, () -> suppression);
        dispatcher = newDispatcher(queue, deliverer, new DestinationLimits(200));
        dispatcher.start();
    }

    @After
    public void tearDown() throws Exception {
        dispatcher.stop(1000);
        queue.close();
        pool.closeAll();
        scheduler.shutdownNow();
        io.shutdownNow();
        client.close();
        accounting.close();
        smtp.close();
        dns.close();
    }

    /** The site directory of the dispatcher made last. */
    private org.hermod.delivery.internal.egress.SiteDirectory lastSites;

    /** Looks the domains' sites up and waits until they are known (so leasing does not depend on DNS timing). */
    private void knowSites(String... domains) throws Exception {
        for (String domain : domains) {
            lastSites.siteOf(domain);
        }
        Poll.until("the sites are known", Duration.ofSeconds(5),
                () -> java.util.Arrays.stream(domains).allMatch(x -> lastSites.known(x) != null));
    }

    /** A dispatcher with delivery's own static shaping (one source, per-domain connection limits). */
    private Dispatcher newDispatcher(FakeQueue q, Deliverer d, DestinationLimits limits) {
        return newDispatcher(q, d, limits, new org.hermod.delivery.internal.egress.StaticShaping(() -> settings));
    }

    private Dispatcher newDispatcher(FakeQueue q, Deliverer d, DestinationLimits limits,
                                     org.hermod.api.shaping.Shaping shaping) {
        Dispatcher[] self = new Dispatcher[1];
        org.hermod.delivery.internal.egress.SiteDirectory sites = new org.hermod.delivery.internal.egress.SiteDirectory(
                () -> resolver, (mx, domain) -> null, () -> {
                    if (self[0] != null) {
                        self[0].wake();
                    }
                });
        self[0] = new Dispatcher(q, d, limits, scheduler, () -> shaping, sites, pool::idleCount);
        lastSites = sites;
        return self[0];
    }

    private static Envelope env(String sender, String... rcpts) {
        List<Recipient> r = new ArrayList<>();
        for (String a : rcpts) {
            r.add(Recipient.of(MailAddress.parse(a)));
        }
        return new Envelope(MailAddress.parse(sender), r, null, "ENV1", Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1",
                null);
    }

    private static byte[] msg(String subject) {
        return ("From: a@origin.test\r\nTo: b@dest.test\r\nSubject: " + subject + "\r\n\r\nbody\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private FakeQueue.Completion await(FakeQueue.Item item) throws Exception {
        return item.completed.get(15, TimeUnit.SECONDS);
    }

    @Test
    public void deliversAndRecordsTheAttempt() throws Exception {
        FakeQueue.Item item = queue.add("Q1", env("alice@origin.test", "bob@dest.test"), msg("hi"), Instant.now(), 0, false);
        FakeQueue.Completion c = await(item);
        assertEquals(Status.DELIVERED, c.results().get(0).status());
        assertEquals("bob@dest.test", smtp.next(5).rcpts().get(0));
        assertTrue(spool.stored.isEmpty());
        DeliveryEvent e = events.get(0);
        assertEquals("Q1", e.queueId());
        assertEquals("mx.dest.test", e.mxHost());
        assertEquals("127.0.0.1", e.mxAddress());
        assertEquals(1, e.attempt());
        accounting.close();
        String log = Files.readString(logFile);
        assertTrue(log, log.contains("\"queueId\":\"Q1\"") && log.contains("\"outcome\":\"DELIVERED\"")
                && log.contains("\"mxHost\":\"mx.dest.test\""));
    }

    @Test
    public void temporaryFailureDefersWithRetryPerSchedule() throws Exception {
        smtp.rcptReplies.put("later@dest.test", "451 4.2.1 mailbox busy");
        Instant before = Instant.now();
        FakeQueue.Item item = queue.add("Q2", env("alice@origin.test", "later@dest.test", "ok@dest.test"), msg("x"),
                Instant.now(), 2, false);
        FakeQueue.Completion c = await(item);
        assertEquals(Status.DEFERRED, c.results().get(0).status());
        assertEquals(Status.DELIVERED, c.results().get(1).status());
        assertNotNull(c.retryAt());
        // third attempt: 5m * 2^2 = 20m, +/-10%
        Duration d = Duration.between(before, c.retryAt());
        assertTrue(d.toString(), d.compareTo(Duration.ofMinutes(18)) >= 0 && d.compareTo(Duration.ofMinutes(22).plusSeconds(5)) <= 0);
        assertEquals(3, events.get(0).attempt());
        assertTrue(spool.stored.isEmpty());
    }

    @Test
    public void permanentFailureSendsDsn() throws Exception {
        smtp.rcptReplies.put("nobody@dest.test", "550 5.1.1 no such user");
        recorder.classifier(f -> new Classification(f.code() == 550 ? "bad-mailbox" : "other", true, f.enhancedStatus(),
                new Classification.Trace("test", "r550", "550", List.of())));
        FakeQueue.Item item = queue.add("Q3", env("alice@origin.test", "nobody@dest.test"), msg("lost"), Instant.now(), 0,
                false);
        FakeQueue.Completion c = await(item);
        assertEquals(Status.FAILED, c.results().get(0).status());
        TestSpool.Stored dsn = spool.stored.poll(5, TimeUnit.SECONDS);
        assertNotNull(dsn);
        assertTrue(dsn.envelope().sender().isNullSender());
        assertEquals("alice@origin.test", dsn.envelope().recipients().get(0).address().toString());
        List<Entity> parts = DsnBuilderTest.checkReport(dsn.content());
        List<Map<String, String>> groups = DsnBuilderTest.statusGroups(
                new String(((org.apache.james.mime4j.dom.SingleBody) parts.get(1).getBody()).getInputStream().readAllBytes(),
                        StandardCharsets.UTF_8));
        assertEquals("ENV1", groups.get(0).get("Original-Envelope-Id"));
        assertEquals("rfc822; nobody@dest.test", groups.get(1).get("Final-Recipient"));
        assertEquals("5.1.1", groups.get(1).get("Status"));
        assertEquals("smtp; 550 5.1.1 no such user", groups.get(1).get("Diagnostic-Code"));
        assertEquals("bad-mailbox", events.get(0).category());
        assertEquals("r550", events.get(0).ruleId());
    }

    @Test
    public void nullSenderFailureIsNotBounced() throws Exception {
        smtp.rcptReplies.put("nobody@dest.test", "550 5.1.1 no such user");
        FakeQueue.Item item = queue.add("Q4", env("", "nobody@dest.test"), msg("bounce"), Instant.now(), 0, false);
        assertEquals(Status.FAILED, await(item).results().get(0).status());
        assertNull(spool.stored.poll(300, TimeUnit.MILLISECONDS));
        assertNull("no classifier: no category", events.get(0).category());
    }

    @Test
    public void notifyNeverSuppressesDsn() throws Exception {
        smtp.rcptReplies.put("nobody@dest.test", "550 5.1.1 no such user");
        Envelope e = env("alice@origin.test", "nobody@dest.test");
        e = e.withRecipients(List.of(new Recipient(MailAddress.parse("nobody@dest.test"),
                java.util.Set.of(Recipient.Notify.NEVER), null)));
        assertEquals(Status.FAILED, await(queue.add("Q5", e, msg("x"), Instant.now(), 0, false)).results().get(0).status());
        assertNull(spool.stored.poll(300, TimeUnit.MILLISECONDS));
    }

    @Test
    public void expiredDeferralFailsWithDeliveryTimeExpired() throws Exception {
        smtp.rcptReplies.put("later@dest.test", "451 4.2.1 mailbox busy");
        FakeQueue.Item item = queue.add("Q6", env("alice@origin.test", "later@dest.test"), msg("old"),
                Instant.now().minus(Duration.ofDays(6)), 30, false);
        RecipientResult r = await(item).results().get(0);
        assertEquals(Status.FAILED, r.status());
        assertEquals("4.4.7", r.reply().enhancedStatus());
        TestSpool.Stored dsn = spool.stored.poll(5, TimeUnit.SECONDS);
        assertNotNull(dsn);
        String text = new String(dsn.content(), StandardCharsets.UTF_8);
        assertTrue(text.contains("Status: 4.4.7"));
        assertTrue(text.contains("delivery time expired"));
    }

    @Test
    public void operatorBounceFailsEveryRecipientWithoutConnecting() throws Exception {
        FakeQueue.Item item = queue.add("Q7", env("alice@origin.test", "a@dest.test", "b@dest.test"), msg("x"),
                Instant.now(), 1, true);
        FakeQueue.Completion c = await(item);
        for (RecipientResult r : c.results()) {
            assertEquals(Status.FAILED, r.status());
            assertEquals("5.0.0", r.reply().enhancedStatus());
            assertTrue(r.reply().text().contains("bounced by administrator"));
        }
        assertNotNull(spool.stored.poll(5, TimeUnit.SECONDS));
        assertEquals(0, smtp.connections.get());
    }

    @Test
    public void nullMxFailsPermanentlyWithDsn() throws Exception {
        FakeQueue.Item item = queue.add("Q8", env("alice@origin.test", "x@nomail.test"), msg("x"), Instant.now(), 0, false);
        RecipientResult r = await(item).results().get(0);
        assertEquals(Status.FAILED, r.status());
        assertEquals("5.1.10", r.reply().enhancedStatus());
        assertTrue(new String(spool.stored.poll(5, TimeUnit.SECONDS).content(), StandardCharsets.UTF_8)
                .contains("Status: 5.1.10"));
    }

    @Test
    public void perDomainLimitAndConnectionReuse() throws Exception {
        List<FakeQueue.Item> items = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            items.add(queue.add("L" + i, env("alice@origin.test", "u" + i + "@limited.test"), msg("m" + i), Instant.now(), 0,
                    false));
        }
        for (FakeQueue.Item item : items) {
            assertEquals(Status.DELIVERED, await(item).results().get(0).status());
        }
        assertEquals("maxConnections=1 override", 1, queue.maxLeasedAtOnce.get());
        assertEquals("one connection carried all messages", 1, smtp.connections.get());
    }

    @Test
    public void aSiteConnectionCapHoldsWhateverThePathAllows() throws Exception {
        // static shaping lets the path open 100 connections; shaping caps the site at one across sources
        org.hermod.api.shaping.Shaping base = new org.hermod.delivery.internal.egress.StaticShaping(() -> settings);
        org.hermod.api.shaping.Shaping capped = (org.hermod.api.shaping.Shaping) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {org.hermod.api.shaping.Shaping.class},
                (proxy, m, args) -> m.getName().equals("maxSiteConnections") ? 1 : m.invoke(base, args));
        FakeQueue q = new FakeQueue();
        List<FakeQueue.Item> items = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            items.add(q.add("C" + i, env("alice@origin.test", "c" + i + "@dest.test"), msg("c" + i), Instant.now(), 0,
                    false));
        }
        Dispatcher one = newDispatcher(q, deliverer, new DestinationLimits(100), capped);
        one.start();
        try {
            for (FakeQueue.Item item : items) {
                assertEquals(Status.DELIVERED, await(item).results().get(0).status());
            }
        } finally {
            one.stop(1000);
            q.close();
        }
        assertEquals("one delivery at a time at the site: one connection carried all four", 1, smtp.connections.get());
    }

    /** Static shaping with some answers replaced (for the dispatcher's handling of what shaping decides). */
    private org.hermod.api.shaping.Shaping shapingWith(
            java.util.function.BiFunction<java.lang.reflect.Method, Object[], Object> override) {
        org.hermod.api.shaping.Shaping base = new org.hermod.delivery.internal.egress.StaticShaping(() -> settings);
        return (org.hermod.api.shaping.Shaping) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {org.hermod.api.shaping.Shaping.class}, (proxy, m, args) -> {
                    Object v = override.apply(m, args);
                    return v != null ? v : m.invoke(base, args);
                });
    }

    @Test
    public void aPathShapingBouncesReturnsItsMailWithADsnWithoutConnecting() throws Exception {
        org.hermod.api.shaping.Shaping bouncing = shapingWith((m, args) -> m.getName().equals("decide")
                ? new org.hermod.api.shaping.PathDecision(org.hermod.api.shaping.Limits.DEFAULT, null, null, null,
                        "stopped by shaping rule t.rules:3 after 550 5.7.1 blocked") : null);
        FakeQueue q = new FakeQueue();
        FakeQueue.Item item = q.add("B1", env("alice@origin.test", "bob@dest.test"), msg("b"), Instant.now(), 0, false);
        Dispatcher one = newDispatcher(q, deliverer, new DestinationLimits(100), bouncing);
        one.start();
        try {
            FakeQueue.Completion c = await(item);
            assertEquals(Status.FAILED, c.results().get(0).status());
            assertEquals("550 5.7.1 not sent: stopped by shaping rule t.rules:3 after 550 5.7.1 blocked",
                    c.results().get(0).reply().toString());
            TestSpool.Stored dsn = spool.stored.poll(5, TimeUnit.SECONDS);
            assertNotNull("the sender gets a DSN", dsn);
            assertEquals("alice@origin.test", dsn.envelope().recipients().get(0).address().toString());
        } finally {
            one.stop(1000);
            q.close();
        }
        assertEquals("nothing was sent", 0, smtp.connections.get());
    }

    @Test
    public void aPathShapingDivertsSendsItsMailThroughTheOtherPool() throws Exception {
        List<String> poolsAsked = new java.util.concurrent.CopyOnWriteArrayList<>();
        org.hermod.api.shaping.Shaping diverting = shapingWith((m, args) -> {
            switch (m.getName()) {
                case "poolFor":
                    return "marketing";
                case "choose":
                    poolsAsked.add((String) args[0]);
                    return java.util.Optional.of(new org.hermod.api.shaping.EgressSource("default", null, "h.test"));
                case "decide":
                    return new org.hermod.api.shaping.PathDecision(org.hermod.api.shaping.Limits.DEFAULT, null, null,
                            "transactional", null);
                default:
                    return null;
            }
        });
        FakeQueue q = new FakeQueue();
        FakeQueue.Item item = q.add("M1", env("alice@origin.test", "bob@dest.test"), msg("m"), Instant.now(), 0, false);
        Dispatcher one = newDispatcher(q, deliverer, new DestinationLimits(100), diverting);
        one.start();
        try {
            assertEquals(Status.DELIVERED, await(item).results().get(0).status());
        } finally {
            one.stop(1000);
            q.close();
        }
        assertEquals("first its own pool, then the pool the path diverts to",
                List.of("marketing", "transactional"), poolsAsked.subList(0, 2));
        assertEquals(1, smtp.received.size());
    }

    @Test
    public void aRoutedPoolChoosesTheSourcesWhenShapingKnowsItElseTheSendersPoolDoes() throws Exception {
        List<String> poolsAsked = new java.util.concurrent.CopyOnWriteArrayList<>();
        org.hermod.api.shaping.Shaping pools = shapingWith((m, args) -> {
            switch (m.getName()) {
                case "poolFor":
                    return "marketing";
                case "pools":
                    return List.of(new org.hermod.api.shaping.Pool("marketing",
                                    List.of(new org.hermod.api.shaping.Pool.Member("default", 1))),
                            new org.hermod.api.shaping.Pool("bulk",
                                    List.of(new org.hermod.api.shaping.Pool.Member("default", 1))));
                case "choose":
                    poolsAsked.add((String) args[0]);
                    return java.util.Optional.of(new org.hermod.api.shaping.EgressSource("default", null, "h.test"));
                default:
                    return null;
            }
        });
        FakeQueue q = new FakeQueue();
        FakeQueue.Item routed = q.addRouted("R1", env("alice@origin.test", "bob@dest.test"), msg("m"),
                org.hermod.api.routing.Route.DEFAULT.withPool("bulk"));
        Dispatcher one = newDispatcher(q, deliverer, new DestinationLimits(100), pools);
        one.start();
        try {
            assertEquals(Status.DELIVERED, await(routed).results().get(0).status());
            assertEquals("the route's pool", "bulk", poolsAsked.get(0));
            FakeQueue.Item unknown = q.addRouted("R2", env("alice@origin.test", "carol@dest.test"), msg("m"),
                    org.hermod.api.routing.Route.DEFAULT.withPool("nosuch"));
            assertEquals(Status.DELIVERED, await(unknown).results().get(0).status());
        } finally {
            one.stop(1000);
            q.close();
        }
        assertEquals("a pool shaping does not know falls back to the sender's", "marketing",
                poolsAsked.get(poolsAsked.size() - 1));
    }

    @Test
    public void mailRoutedToASmarthostGoesThereOnItsPortSharingOneConnectionAcrossDomains() throws Exception {
        dns.a("relay.test", "127.0.0.1");
        try (TestSmtpServer relay = new TestSmtpServer()) {
            org.hermod.api.routing.Route viaRelay = org.hermod.api.routing.Route.DEFAULT
                    .withSmarthost("relay.test:" + relay.port());
            FakeQueue.Item first = queue.addRouted("S1", env("alice@origin.test", "bob@dest.test"), msg("s1"), viaRelay);
            assertEquals(Status.DELIVERED, await(first).results().get(0).status());
            // a domain without any DNS records: its MX is never needed
            FakeQueue.Item second = queue.addRouted("S2", env("alice@origin.test", "carol@nowhere.test"), msg("s2"),
                    viaRelay);
            assertEquals(Status.DELIVERED, await(second).results().get(0).status());
            FakeQueue.Item direct = queue.add("S3", env("alice@origin.test", "dave@dest.test"), msg("s3"), Instant.now(),
                    0, false);
            assertEquals(Status.DELIVERED, await(direct).results().get(0).status());

            assertEquals("bob@dest.test", relay.next(5).rcpts().get(0));
            assertEquals("carol@nowhere.test", relay.next(5).rcpts().get(0));
            assertEquals("both domains over the smarthost's one pooled connection", 1, relay.connections.get());
            assertEquals("unrouted mail goes by MX", "dave@dest.test", smtp.next(5).rcpts().get(0));
            assertTrue("nothing routed reached the MX", smtp.received.isEmpty());
            assertEquals("the smarthost's host, not an MX", "relay.test", events.get(0).mxHost());
        }
    }

    @Test
    public void aSmarthostAddressLiteralNeedsNoLookupAndAnUnknownSmarthostDefers() throws Exception {
        try (TestSmtpServer relay = new TestSmtpServer()) {
            FakeQueue.Item literal = queue.addRouted("L1", env("alice@origin.test", "bob@dest.test"), msg("l1"),
                    org.hermod.api.routing.Route.DEFAULT.withSmarthost("[127.0.0.1]:" + relay.port()));
            assertEquals(Status.DELIVERED, await(literal).results().get(0).status());
            assertEquals("bob@dest.test", relay.next(5).rcpts().get(0));
        }
        dns.nxdomain("gone.test");
        FakeQueue.Item unknown = queue.addRouted("L2", env("alice@origin.test", "bob@dest.test"), msg("l2"),
                org.hermod.api.routing.Route.DEFAULT.withSmarthost("gone.test:2525"));
        FakeQueue.Completion c = await(unknown);
        assertEquals("a smarthost without an address defers, never bounces", Status.DEFERRED,
                c.results().get(0).status());
        assertEquals("4.4.3", c.results().get(0).reply().enhancedStatus());
        assertNotNull(c.retryAt());
        assertTrue(spool.stored.isEmpty());
        assertTrue(smtp.received.isEmpty());
    }

    /** A pre-delivery chain installed on the test's deliverer, and the holds a queue manager double was asked for. */
    private PreDeliveryChainFixture preDelivery(java.util.function.Function<Envelope, FilterDecision> decide) {
        return preDelivery(new CopyOnWriteArrayList<>(), decide);
    }

    private PreDeliveryChainFixture preDelivery(List<String> holds,
                                                java.util.function.Function<Envelope, FilterDecision> decide) {
        PreDeliveryChainFixture f = new PreDeliveryChainFixture(new PreDeliveryChain().decide(decide), holds);
        org.hermod.api.spool.QueueManager qm = (org.hermod.api.spool.QueueManager) java.lang.reflect.Proxy
                .newProxyInstance(getClass().getClassLoader(), new Class<?>[] {org.hermod.api.spool.QueueManager.class},
                        (proxy, m, args) -> {
                            if (m.getName().equals("hold")) {
                                f.holds.add(args[0] + ": " + args[1]);
                                return true;
                            }
                            throw new UnsupportedOperationException(m.getName());
                        });
        deliverer.filters(() -> f.chain, () -> qm);
        return f;
    }

    private record PreDeliveryChainFixture(PreDeliveryChain chain, List<String> holds) {
    }

    @Test
    public void aPreDeliveryRouteChangeSendsThisAttemptToTheNewSmarthostOffTheEventLoop() throws Exception {
        dns.a("relay.test", "127.0.0.1");
        try (TestSmtpServer relay = new TestSmtpServer()) {
            PreDeliveryChainFixture f = preDelivery(e -> FilterDecision.reroute(
                    org.hermod.api.filter.RouteChange.smarthost("relay.test:" + relay.port())));
            FakeQueue.Item item = queue.add("P1", env("alice@origin.test", "bob@dest.test"), msg("p1"), Instant.now(), 2,
                    false);
            assertEquals(Status.DELIVERED, await(item).results().get(0).status());
            assertEquals("bob@dest.test", relay.next(5).rcpts().get(0));
            assertTrue("not by MX", smtp.received.isEmpty());
            PreDeliveryChain.Call call = f.chain().calls.get(0);
            assertEquals("P1", call.queueId());
            assertEquals(List.of("bob@dest.test"), call.recipients());
            assertEquals(2, call.attempts());
            assertEquals("the stored route is not changed", org.hermod.api.routing.Route.DEFAULT, item.route);
        }
    }

    @Test
    public void aPreDeliveryRejectFailsWithTheFiltersReplyAndADsnAndADeferWaitsForTheSchedule() throws Exception {
        preDelivery(e -> e.recipients().get(0).address().toString().startsWith("no")
                ? FilterDecision.reject(554, "5.7.1", "blocked by policy X")
                : FilterDecision.defer(452, "4.7.1", "not before noon"));
        FakeQueue.Item rejected = queue.add("P2", env("alice@origin.test", "nobody@dest.test"), msg("p2"), Instant.now(),
                0, false);
        FakeQueue.Completion c = await(rejected);
        assertEquals(Status.FAILED, c.results().get(0).status());
        assertEquals("554 5.7.1 blocked by policy X", c.results().get(0).reply().toString().strip());
        TestSpool.Stored dsn = spool.stored.poll(5, TimeUnit.SECONDS);
        assertNotNull("the sender is told", dsn);
        assertTrue(new String(dsn.content(), StandardCharsets.US_ASCII).contains("blocked by policy X"));

        FakeQueue.Item deferred = queue.add("P3", env("alice@origin.test", "later@dest.test"), msg("p3"), Instant.now(),
                0, false);
        FakeQueue.Completion d = await(deferred);
        assertEquals(Status.DEFERRED, d.results().get(0).status());
        assertEquals("4.7.1", d.results().get(0).reply().enhancedStatus());
        assertNotNull("deferred to the retry schedule", d.retryAt());
        assertTrue(d.retryAt().isAfter(Instant.now().plus(Duration.ofMinutes(4))));
        assertTrue("nothing was sent", smtp.received.isEmpty());
    }

    @Test
    public void aPreDeliveryHoldHoldsAndReleasesAndADiscardCompletesSilently() throws Exception {
        List<String> holds = new CopyOnWriteArrayList<>();
        PreDeliveryChainFixture f = preDelivery(holds, e -> !e.recipients().get(0).address().toString().startsWith("hold")
                ? FilterDecision.discard()
                : holds.isEmpty() ? FilterDecision.hold("needs review")
                : FilterDecision.defer(451, "4.7.1", "still held")); // the fake queue knows no holds: leased again

        FakeQueue.Item held = queue.add("P4", env("alice@origin.test", "hold@dest.test"), msg("p4"), Instant.now(), 0,
                false);
        Poll.until("the lease is released", Duration.ofSeconds(10), () -> held.released);
        assertEquals("P4: needs review", f.holds().get(0));

        FakeQueue.Item dropped = queue.add("P5", env("alice@origin.test", "drop@dest.test"), msg("p5"), Instant.now(), 0,
                false);
        FakeQueue.Completion c = await(dropped);
        assertEquals(Status.DELIVERED, c.results().get(0).status());
        assertTrue(c.results().get(0).reply().toString(), c.results().get(0).reply().toString().contains("discarded"));
        assertTrue("nothing sent", smtp.received.isEmpty());
        assertTrue("no DSN", spool.stored.isEmpty());
        accounting.close();
        String log = Files.readString(logFile);
        assertTrue(log, log.lines().anyMatch(l -> l.contains("\"queueId\":\"P5\"") && l.contains("discarded")));
    }

    @Test
    public void aPreDeliveryRecipientRewriteSendsToTheNewAddressAndRecordsTheQueuedOne() throws Exception {
        preDelivery(e -> FilterDecision.proceed().withRecipients(List.of(
                Recipient.of(MailAddress.parse("new-bob@dest.test")))));
        FakeQueue.Item item = queue.add("P6", env("alice@origin.test", "bob@dest.test"), msg("p6"), Instant.now(), 0,
                false);
        FakeQueue.Completion c = await(item);
        assertEquals(Status.DELIVERED, c.results().get(0).status());
        assertEquals("bob@dest.test", c.results().get(0).recipient().address().toString());
        assertEquals("new-bob@dest.test", smtp.next(5).rcpts().get(0));
    }

    @Test
    public void aChainWithoutAPreDeliveryFilterIsNotAsked() throws Exception {
        PreDeliveryChainFixture f = preDelivery(e -> FilterDecision.reject(550, "5.7.1", "never"));
        f.chain().enabled = false;
        FakeQueue.Item item = queue.add("P7", env("alice@origin.test", "bob@dest.test"), msg("p7"), Instant.now(), 0,
                false);
        assertEquals(Status.DELIVERED, await(item).results().get(0).status());
        assertTrue(f.chain().calls.isEmpty());
    }

    @Test
    public void shutdownReleasesUnfinishedLeases() throws Exception {
        smtp.dataEndReply = null; // hangs until the 5 s timeout
        FakeQueue.Item item = queue.add("Q9", env("alice@origin.test", "slow@dest.test"), msg("x"), Instant.now(), 0, false);
        Poll.until("the sink has the message", Duration.ofSeconds(5), () -> !smtp.received.isEmpty());
        dispatcher.stop(100);
        assertTrue(item.released);
        assertFalse(item.completed.isDone());
    }

    /** A codec that makes readable return paths on {@code domain}. */
    private static ReturnPathCodec testCodec(String domain) {
        return new ReturnPathCodec() {
            @Override
            public String encode(String queueId, String recipient) {
                return "b-" + queueId + "-" + recipient.replace('@', '=') + "@" + domain;
            }

            @Override
            public java.util.Optional<Decoded> decode(String returnPath) {
                return java.util.Optional.empty();
            }

            @Override
            public String bounceDomain() {
                return domain;
            }
        };
    }

    /** MAIL FROM path without its parameters (SIZE=...). */
    private static String path(TestSmtpServer.Received r) {
        int sp = r.mailFrom().indexOf(' ');
        return sp < 0 ? r.mailFrom() : r.mailFrom().substring(0, sp);
    }

    @Test
    public void verpSendsOneTransactionPerRecipientWithItsReturnPath() throws Exception {
        codec = testCodec("bounces.test");
        smtp.rcptReplies.put("nobody@dest.test", "550 5.1.1 no such user");
        FakeQueue.Item item = queue.add("V1", env("alice@origin.test", "a@dest.test", "b@dest.test", "nobody@dest.test"),
                msg("verp"), Instant.now(), 0, false);
        FakeQueue.Completion c = await(item);
        assertEquals(List.of(Status.DELIVERED, Status.DELIVERED, Status.FAILED),
                c.results().stream().map(RecipientResult::status).toList());
        TestSmtpServer.Received first = smtp.next(5);
        TestSmtpServer.Received second = smtp.next(5);
        assertEquals("<b-V1-a=dest.test@bounces.test>", path(first));
        assertEquals(List.of("a@dest.test"), first.rcpts());
        assertEquals("<b-V1-b=dest.test@bounces.test>", path(second));
        assertEquals(List.of("b@dest.test"), second.rcpts());
        assertNull("the refused recipient got no DATA", smtp.received.poll(200, TimeUnit.MILLISECONDS));
        assertTrue(smtp.commands.contains("MAIL FROM:<b-V1-nobody=dest.test@bounces.test> SIZE=" + msg("verp").length));
        assertEquals("one connection carried all transactions", 1, smtp.connections.get());
        assertEquals("accounting keeps the original sender", "alice@origin.test", events.get(0).sender());
        assertNotNull("the DSN still goes to the original sender", spool.stored.poll(5, TimeUnit.SECONDS));
    }

    @Test
    public void verpLeavesTheNullSenderAlone() throws Exception {
        codec = testCodec("bounces.test");
        FakeQueue.Item item = queue.add("V2", env("", "a@dest.test", "b@dest.test"), msg("bounce"), Instant.now(), 0, false);
        assertEquals(Status.DELIVERED, await(item).results().get(1).status());
        TestSmtpServer.Received r = smtp.next(5);
        assertEquals("<>", path(r));
        assertEquals(List.of("a@dest.test", "b@dest.test"), r.rcpts());
        assertNull(smtp.received.poll(200, TimeUnit.MILLISECONDS));
    }

    @Test
    public void withoutCodecOneTransactionCarriesAllRecipients() throws Exception {
        assertOneTransactionFromAlice("V3");
    }

    @Test
    public void blankBounceDomainOrVerpOffKeepsTheSender() throws Exception {
        codec = testCodec(" ");
        assertOneTransactionFromAlice("V4");
        codec = testCodec("bounces.test");
        settings = settings.withVerp(false);
        assertOneTransactionFromAlice("V5");
    }

    private void assertOneTransactionFromAlice(String queueId) throws Exception {
        FakeQueue.Item item = queue.add(queueId, env("alice@origin.test", "a@dest.test", "b@dest.test"), msg("plain"),
                Instant.now(), 0, false);
        assertEquals(Status.DELIVERED, await(item).results().get(1).status());
        TestSmtpServer.Received r = smtp.next(5);
        assertEquals("<alice@origin.test>", path(r));
        assertEquals(List.of("a@dest.test", "b@dest.test"), r.rcpts());
        assertNull(smtp.received.poll(200, TimeUnit.MILLISECONDS));
    }

    // --- delayed-delivery DSN (NOTIFY=DELAY) -------------------------------------------------------------------------

    private static Recipient rcpt(String address, Recipient.Notify... notify) {
        return new Recipient(MailAddress.parse(address), java.util.Set.of(notify), null);
    }

    private static Envelope env(String sender, Recipient... rcpts) {
        return env(sender, "x@dest.test").withRecipients(List.of(rcpts));
    }

    private static Map<String, String> onlyRecipientGroup(TestSpool.Stored dsn) throws Exception {
        List<Entity> parts = DsnBuilderTest.checkReport(dsn.content());
        assertEquals("the original's header only", "text/rfc822-headers", parts.get(2).getMimeType());
        List<Map<String, String>> groups = DsnBuilderTest.statusGroups(DsnBuilderTest.text(parts.get(1).getBody()));
        assertEquals("one delayed recipient reported", 2, groups.size());
        return groups.get(1);
    }

    @Test
    public void delayedDsnGoesOutWithTheFirstDeferralPastDelayNotice() throws Exception {
        smtp.rcptReplies.put("later@dest.test", "451 4.2.1 mailbox busy");
        smtp.rcptReplies.put("quiet@dest.test", "451 4.2.1 mailbox busy");
        Duration notice = settings.delayNotice();
        assertEquals(Duration.ofHours(4), notice);
        // the previous attempt (the 6th) ended 10 minutes before arrival + 4h: this attempt is the first one past it
        Instant arrival = Instant.now().minus(notice).minus(Duration.ofMinutes(1));
        FakeQueue.Item item = queue.add("D1", env("alice@origin.test",
                rcpt("later@dest.test", Recipient.Notify.DELAY, Recipient.Notify.FAILURE),
                rcpt("quiet@dest.test"), rcpt("ok@dest.test", Recipient.Notify.DELAY)), msg("slow"), arrival, 6,
                arrival.plus(notice).minus(Duration.ofMinutes(10)), false);
        FakeQueue.Completion c = await(item);
        assertEquals(List.of(Status.DEFERRED, Status.DEFERRED, Status.DELIVERED),
                c.results().stream().map(RecipientResult::status).toList());
        assertNotNull("still retried", c.retryAt());
        TestSpool.Stored dsn = spool.stored.poll(5, TimeUnit.SECONDS);
        assertNotNull(dsn);
        assertTrue(dsn.envelope().sender().isNullSender());
        assertEquals("alice@origin.test", dsn.envelope().recipients().get(0).address().toString());
        String text = new String(dsn.content(), StandardCharsets.UTF_8);
        assertTrue(text, text.contains("Subject: Delayed Mail (still being retried)"));
        Map<String, String> g = onlyRecipientGroup(dsn);
        assertEquals("rfc822; later@dest.test", g.get("Final-Recipient"));
        assertEquals("delayed", g.get("Action"));
        assertEquals("4.2.1", g.get("Status"));
        assertEquals("smtp; 451 4.2.1 mailbox busy", g.get("Diagnostic-Code"));
        java.time.format.DateTimeFormatter rfc5322 = java.time.format.DateTimeFormatter.ofPattern(
                "EEE, d MMM yyyy HH:mm:ss Z", java.util.Locale.ROOT);
        assertEquals(rfc5322.format(arrival.plus(Duration.ofDays(5)).atZone(java.time.ZoneId.systemDefault())),
                g.get("Will-Retry-Until"));
        assertNull("one DSN only", spool.stored.poll(300, TimeUnit.MILLISECONDS));

        // the next attempt: the previous one ended after arrival + 4h, so no second notice
        Instant arrival2 = Instant.now().minus(notice).minus(Duration.ofHours(1));
        FakeQueue.Item again = queue.add("D1", env("alice@origin.test",
                rcpt("later@dest.test", Recipient.Notify.DELAY, Recipient.Notify.FAILURE)), msg("slow"), arrival2, 7,
                arrival2.plus(notice).plus(Duration.ofMinutes(5)), false);
        assertEquals(Status.DEFERRED, await(again).results().get(0).status());
        assertNull("no second notice", spool.stored.poll(300, TimeUnit.MILLISECONDS));
    }

    @Test
    public void noDelayedDsnUnlessAskedDueAndForARealSender() throws Exception {
        smtp.rcptReplies.put("later@dest.test", "451 4.2.1 mailbox busy");
        Instant old = Instant.now().minus(Duration.ofHours(5));
        List<FakeQueue.Item> items = List.of(
                // NOTIFY without DELAY
                queue.add("N1", env("alice@origin.test", rcpt("later@dest.test", Recipient.Notify.FAILURE)), msg("x"),
                        old, 0, false),
                // a bounce: never a DSN
                queue.add("N2", env("", rcpt("later@dest.test", Recipient.Notify.DELAY)), msg("x"), old, 0, false),
                // not queued long enough
                queue.add("N3", env("alice@origin.test", rcpt("later@dest.test", Recipient.Notify.DELAY)), msg("x"),
                        Instant.now().minus(Duration.ofHours(3)), 0, false));
        for (FakeQueue.Item item : items) {
            assertEquals(Status.DEFERRED, await(item).results().get(0).status());
        }
        settings = settings.withDelayNotice(Duration.ZERO);
        FakeQueue.Item off = queue.add("N4", env("alice@origin.test", rcpt("later@dest.test", Recipient.Notify.DELAY)),
                msg("x"), old, 0, false);
        assertEquals(Status.DEFERRED, await(off).results().get(0).status());
        assertNull(spool.stored.poll(300, TimeUnit.MILLISECONDS));

        settings = settings.withDelayNotice(Duration.ofHours(4)); // first attempt already past the threshold: sent
        FakeQueue.Item first = queue.add("N5", env("alice@origin.test", rcpt("later@dest.test", Recipient.Notify.DELAY)),
                msg("x"), old, 0, false);
        assertEquals(Status.DEFERRED, await(first).results().get(0).status());
        assertEquals("delayed", onlyRecipientGroup(spool.stored.poll(5, TimeUnit.SECONDS)).get("Action"));
    }

    @Test
    public void delayNoticeRuleFiresOncePerMessageOverAJitteredSchedule() {
        Duration notice = Duration.ofHours(4);
        RetrySchedule retry = RetrySchedule.defaults();
        java.util.Random random = new java.util.Random(42);
        for (int m = 0; m < 500; m++) {
            String id = "M" + m;
            Instant arrival = Instant.parse("2024-05-01T00:00:00Z").plusSeconds(m * 7L);
            Instant started = arrival.plusMillis(m % 3 == 0 ? 0 : 800); // queueing latency before the first attempt
            Instant lastAttempt = null; // what the spool records when an attempt ends
            int due = 0;
            Instant firstPast = null;
            Instant dueAt = null;
            for (int attempts = 0; started.isBefore(arrival.plus(Duration.ofDays(5))); attempts++) {
                Instant now = started.plusMillis(1 + (m * 37L + attempts * 11L) % 30_000); // the attempt takes up to 30 s
                if (firstPast == null && !now.isBefore(arrival.plus(notice))) {
                    firstPast = now;
                }
                if (Deliverer.delayNoticeDue(notice, arrival, lastAttempt, now)) {
                    due++;
                    dueAt = now;
                }
                lastAttempt = now;
                // due again at retryAt = end + jittered interval; an operator's flush now and then makes it early
                started = m % 7 == 0 && attempts == 3 ? now.plusSeconds(1)
                        : now.plus(retry.delay(attempts + 1, random)).plusMillis(m % 5 * 10L);
            }
            assertEquals(id, 1, due);
            assertEquals(id, firstPast, dueAt);
        }
        assertFalse("disabled", Deliverer.delayNoticeDue(Duration.ZERO, Instant.EPOCH, null, Instant.now()));
        java.util.Set<Duration> spread = new java.util.HashSet<>();
        for (int m = 0; m < 50; m++) {
            Duration d = retry.delay(1, random);
            assertTrue(d.toString(), d.toMillis() >= 270_000 && d.toMillis() <= 330_000);
            spread.add(d);
        }
        assertTrue("jitter spreads the retries", spread.size() > 40);
    }

    // --- suppression before delivery -------------------------------------------------------------------------------

    /** An in-memory suppression list. */
    private static SuppressionList suppressing(String... addresses) {
        java.util.Set<String> set = java.util.concurrent.ConcurrentHashMap.newKeySet();
        for (String a : addresses) {
            set.add(a.toLowerCase(java.util.Locale.ROOT));
        }
        return new SuppressionList() {
            @Override
            public boolean add(String address, String reason, String source) {
                return set.add(address.toLowerCase(java.util.Locale.ROOT));
            }

            @Override
            public boolean remove(String address) {
                return set.remove(address.toLowerCase(java.util.Locale.ROOT));
            }

            @Override
            public boolean contains(String address) {
                return set.contains(address.toLowerCase(java.util.Locale.ROOT));
            }

            @Override
            public List<SuppressionEntry> list(int limit) {
                return List.of();
            }

            @Override
            public int size() {
                return set.size();
            }
        };
    }

    private static final String SUPPRESSED = "Recipient address rejected: on the suppression list (earlier hard bounce or complaint)";

    @Test
    public void suppressedRecipientFailsWithoutBeingSent() throws Exception {
        suppression = suppressing("Gone@dest.test");
        FakeQueue.Item item = queue.add("S1", env("alice@origin.test", "a@dest.test", "gone@dest.test", "b@dest.test"),
                msg("x"), Instant.now(), 0, false);
        FakeQueue.Completion c = await(item);
        assertEquals(List.of(Status.DELIVERED, Status.FAILED, Status.DELIVERED),
                c.results().stream().map(RecipientResult::status).toList());
        assertEquals("550 5.7.1 <gone@dest.test>: " + SUPPRESSED, c.results().get(1).reply().toString());
        TestSmtpServer.Received r = smtp.next(5);
        assertEquals(List.of("a@dest.test", "b@dest.test"), r.rcpts());
        assertTrue(smtp.commands.stream().noneMatch(cmd -> cmd.toLowerCase(java.util.Locale.ROOT).contains("gone@")));
        Map<String, String> g = DsnBuilderTest.statusGroups(DsnBuilderTest.text(
                DsnBuilderTest.checkReport(spool.stored.poll(5, TimeUnit.SECONDS).content()).get(1).getBody())).get(1);
        assertEquals("rfc822; gone@dest.test", g.get("Final-Recipient"));
        assertEquals("failed", g.get("Action"));
        assertEquals("5.7.1", g.get("Status"));
        assertEquals("smtp; 550 5.7.1 <gone@dest.test>: " + SUPPRESSED, g.get("Diagnostic-Code"));
        DeliveryEvent e = events.stream().filter(x -> x.recipient().equals("gone@dest.test")).findFirst().orElseThrow();
        assertEquals(Status.FAILED, e.outcome());
        assertEquals(1, e.attempt());
        accounting.close();
        String log = Files.readString(logFile);
        assertTrue(log, log.lines().anyMatch(l -> l.contains("gone@dest.test") && l.contains("\"outcome\":\"FAILED\"")));
    }

    @Test
    public void allSuppressedMakesNoConnectionAndHonoursNotify() throws Exception {
        suppression = suppressing("gone@dest.test", "quiet@dest.test");
        FakeQueue.Item item = queue.add("S2", env("alice@origin.test", rcpt("gone@dest.test"),
                rcpt("quiet@dest.test", Recipient.Notify.NEVER)), msg("x"), Instant.now(), 0, false);
        FakeQueue.Completion c = await(item);
        assertEquals(List.of(Status.FAILED, Status.FAILED), c.results().stream().map(RecipientResult::status).toList());
        assertNull(c.retryAt());
        assertEquals(0, smtp.connections.get());
        TestSpool.Stored dsn = spool.stored.poll(5, TimeUnit.SECONDS);
        List<Map<String, String>> groups = DsnBuilderTest.statusGroups(DsnBuilderTest.text(
                DsnBuilderTest.checkReport(dsn.content()).get(1).getBody()));
        assertEquals("NOTIFY=NEVER is left out", 2, groups.size());
        assertEquals("rfc822; gone@dest.test", groups.get(1).get("Final-Recipient"));
        assertNull(spool.stored.poll(300, TimeUnit.MILLISECONDS));

        settings = settings.withSuppressionCheck(false);
        FakeQueue.Item off = queue.add("S3", env("alice@origin.test", "gone@dest.test"), msg("x"), Instant.now(), 0, false);
        assertEquals(Status.DELIVERED, await(off).results().get(0).status());
        settings = settings.withSuppressionCheck(true);
        suppression = null;
        FakeQueue.Item none = queue.add("S4", env("alice@origin.test", "gone@dest.test"), msg("x"), Instant.now(), 0, false);
        assertEquals("no list: delivered", Status.DELIVERED, await(none).results().get(0).status());
    }

    // --- robustness ------------------------------------------------------------------------------------------------

    @Test
    public void lostDsnDefersTheFailedRecipientsInsteadOfFailingThem() throws Exception {
        smtp.rcptReplies.put("nobody@dest.test", "550 5.1.1 no such user");
        spool.failure = new IllegalStateException("disk full");
        Instant before = Instant.now();
        FakeQueue.Item item = queue.add("F1", env("alice@origin.test", "nobody@dest.test", "ok@dest.test"), msg("x"),
                Instant.now(), 0, false);
        FakeQueue.Completion c = await(item);
        assertEquals(List.of(Status.DEFERRED, Status.DELIVERED), c.results().stream().map(RecipientResult::status).toList());
        assertTrue(c.results().get(0).reply().toString(), c.results().get(0).reply().toString().contains("5.1.1"));
        assertNotNull(c.retryAt());
        Duration d = Duration.between(before, c.retryAt());
        assertTrue(d.toString(), d.compareTo(Duration.ofMinutes(2)) < 0);
        // a failure that needs no DSN (NOTIFY=NEVER) is still completed FAILED
        Envelope never = env("alice@origin.test", "nobody@dest.test").withRecipients(List.of(new Recipient(
                MailAddress.parse("nobody@dest.test"), java.util.Set.of(Recipient.Notify.NEVER), null)));
        FakeQueue.Completion n = await(queue.add("F2", never, msg("x"), Instant.now(), 0, false));
        assertEquals(Status.FAILED, n.results().get(0).status());
        assertNull(n.retryAt());
    }

    @Test
    public void domainsAreServedRoundRobinUnderTheGlobalLimit() throws Exception {
        dns.mx("a.test", 10, "mx.dest.test").mx("b.test", 10, "mx.dest.test");
        FakeQueue q = new FakeQueue();
        List<FakeQueue.Item> items = new ArrayList<>();
        for (String id : List.of("a1", "a2", "a3")) {
            items.add(q.add(id, env("alice@origin.test", id + "@a.test"), msg(id), Instant.now(), 0, false));
        }
        items.add(q.add("b1", env("alice@origin.test", "b1@b.test"), msg("b1"), Instant.now(), 0, false));
        Dispatcher one = newDispatcher(q, deliverer, new DestinationLimits(1));
        // the order is decided among domains whose site is known: a slow answer for b.test (a loaded machine) let a2
        // go before b1, so both are known before the dispatcher starts
        knowSites("a.test", "b.test");
        one.start();
        try {
            for (FakeQueue.Item item : items) {
                assertEquals(Status.DELIVERED, await(item).results().get(0).status());
            }
        } finally {
            one.stop(1000);
        }
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            order.add(smtp.next(5).rcpts().get(0));
        }
        assertEquals(List.of("a1@a.test", "b1@b.test", "a2@a.test", "a3@a.test"), order);
    }

    @Test
    public void deliveryThatCannotStartReleasesLeaseAndSlot() throws Exception {
        java.util.concurrent.ExecutorService dead = Executors.newSingleThreadExecutor();
        dead.shutdown(); // deliver() throws RejectedExecutionException synchronously
        Deliverer broken = new Deliverer(() -> settings, () -> resolver, client, pool, recorder, () -> spool, dead);
        FakeQueue q = new FakeQueue();
        FakeQueue.Item x = q.add("R1", env("alice@origin.test", "x@dest.test"), msg("x"), Instant.now(), 0, false);
        FakeQueue.Item y = q.add("R2", env("alice@origin.test", "y@dest.test"), msg("y"), Instant.now(), 0, false);
        DestinationLimits limits = new DestinationLimits(10);
        Dispatcher d = newDispatcher(q, broken, limits);
        d.pump(); // not started: does nothing
        assertFalse(x.released);
        d.start();
        try {
            Poll.until("both leases are released", Duration.ofSeconds(5), () -> x.released && y.released);
            assertEquals(0, limits.total());
            assertEquals(0, d.inFlight());
        } finally {
            d.stop(100);
        }
    }

    @Test
    public void deliveryEndingAfterItsLeaseWasReleasedStoresNoDsn() throws Exception {
        settings = settings.withSmtp(smtp.port(), new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5),
                Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5),
                Duration.ofSeconds(5), Duration.ofMillis(700)), 100, 100, Duration.ofSeconds(30));
        smtp.rcptReplies.put("nobody@dest.test", "550 5.1.1 no such user");
        smtp.dataEndReply = null; // hangs until the 700 ms timeout
        FakeQueue.Item item = queue.add("E1", env("alice@origin.test", "nobody@dest.test", "slow@dest.test"), msg("x"),
                Instant.now(), 0, false);
        Poll.until("the sink has the message", Duration.ofSeconds(5), () -> !smtp.received.isEmpty());
        dispatcher.stop(0);
        assertTrue(item.released);
        Poll.until("the delivery ends (timeout) after the release", Duration.ofSeconds(5), () -> dispatcher.inFlight() == 0);
        assertNull("no DSN", spool.stored.poll(100, TimeUnit.MILLISECONDS));
        assertTrue("no events", events.isEmpty());
        assertFalse(item.completed.isDone());
    }
}
