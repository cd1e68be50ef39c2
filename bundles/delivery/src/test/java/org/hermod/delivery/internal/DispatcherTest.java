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
import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.spool.RecipientResult;
import org.hermod.api.spool.RecipientResult.Status;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.dsn.DsnBuilderTest;
import org.hermod.delivery.internal.smtp.ConnectionPool;
import org.hermod.delivery.internal.smtp.SmtpClient;
import org.hermod.delivery.internal.smtp.Timeouts;
import org.hermod.delivery.internal.testing.FakeQueue;
import org.hermod.delivery.internal.testing.TestDnsServer;
import org.hermod.delivery.internal.testing.TestSmtpServer;
import org.hermod.delivery.internal.testing.TestSpool;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The dispatcher end to end: fake queue, in-test DNS and SMTP peers, real sockets. */
public class DispatcherTest {

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
    private final List<DeliveryEvent> events = new CopyOnWriteArrayList<>();

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
                .withRetry(RetryPolicy.defaults(), Duration.ofDays(5), DomainOverrides.parse("limited.test: maxConnections=1"));
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
        MxResolver resolver = new MxResolver(List.of(dns.address()), Duration.ofSeconds(2), 100, false);
        Deliverer deliverer = new Deliverer(() -> settings, () -> resolver, client, pool, recorder, () -> spool, io,
                () -> codec);
        dispatcher = new Dispatcher(queue, deliverer, new DestinationLimits(200), () -> settings, scheduler);
        dispatcher.start();
    }

    @After
    public void tearDown() throws Exception {
        dispatcher.stop(1000);
        pool.closeAll();
        scheduler.shutdownNow();
        io.shutdownNow();
        client.close();
        accounting.close();
        smtp.close();
        dns.close();
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
    public void shutdownReleasesUnfinishedLeases() throws Exception {
        smtp.dataEndReply = null; // hangs until the 5 s timeout
        FakeQueue.Item item = queue.add("Q9", env("alice@origin.test", "slow@dest.test"), msg("x"), Instant.now(), 0, false);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (smtp.received.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(10);
        }
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
}
