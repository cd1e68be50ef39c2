package org.hermod.delivery.internal.smtp;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.spool.RecipientResult.Status;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.Route;
import org.hermod.delivery.internal.testing.TestSmtpServer;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

public class SmtpClientTest {

    private static SmtpClient client;
    private TestSmtpServer server;
    private final List<TestSmtpServer> extra = new ArrayList<>();

    @BeforeClass
    public static void startClient() {
        client = new SmtpClient(1);
    }

    @AfterClass
    public static void stopClient() {
        client.close();
    }

    @Before
    public void setUp() throws Exception {
        server = new TestSmtpServer();
    }

    @After
    public void tearDown() throws Exception {
        server.close();
        for (TestSmtpServer s : extra) {
            s.close();
        }
    }

    private ConnectSettings cs(int port) {
        return new ConnectSettings(port, "client.test", "", Timeouts.uniform(Duration.ofSeconds(5)), true, false);
    }

    private static Route route(String... hostAndIp) throws Exception {
        List<MxHost> hosts = new ArrayList<>();
        for (int i = 0; i < hostAndIp.length; i += 2) {
            hosts.add(new MxHost(hostAndIp[i], 10 * i, List.of(InetAddress.getByName(hostAndIp[i + 1]))));
        }
        return Route.of(hosts, false);
    }

    private static Envelope env(String... rcpts) {
        List<Recipient> r = new ArrayList<>();
        for (String a : rcpts) {
            r.add(Recipient.of(MailAddress.parse(a)));
        }
        return new Envelope(MailAddress.parse("sender@origin.test"), r, null, null, Envelope.BodyType.SEVEN_BIT, false,
                "h", "127.0.0.1", null);
    }

    private static byte[] msg(String body) {
        return ("From: a@origin.test\r\nTo: b@dest.test\r\nSubject: t\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
    }

    private SmtpConnection connect(Route route) throws Exception {
        SmtpClient.Connected c = client.connect(route, cs(server.port())).get(10, TimeUnit.SECONDS);
        assertNull(String.valueOf(c.failure()), c.failure());
        return c.connection();
    }

    private Transaction.Result send(SmtpConnection c, Envelope e, byte[] content) throws Exception {
        return Transaction.run(c, Transaction.Message.of(e, content), e.recipients(), Timeouts.uniform(Duration.ofSeconds(5)),
                false).get(10, TimeUnit.SECONDS);
    }

    @Test
    public void pipelinedTransactionWithPerRecipientOutcomes() throws Exception {
        server.rcptReplies.put("unknown@dest.test", "550 5.1.1 no such user");
        server.rcptReplies.put("busy@dest.test", "451 4.2.1 try later");
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        assertTrue(c.capabilities().pipelining());
        Envelope e = env("ok1@dest.test", "unknown@dest.test", "busy@dest.test", "ok2@dest.test");
        Transaction.Result r = send(c, e, msg("hello\r\n"));
        assertEquals(Status.DELIVERED, r.outcomes().get(0).result().status());
        assertEquals(Status.FAILED, r.outcomes().get(1).result().status());
        assertEquals("5.1.1", r.outcomes().get(1).result().reply().enhancedStatus());
        assertEquals(Status.DEFERRED, r.outcomes().get(2).result().status());
        assertEquals(Status.DELIVERED, r.outcomes().get(3).result().status());
        assertEquals("mx.dest.test", r.outcomes().get(0).result().remoteMta());
        TestSmtpServer.Received got = server.next(5);
        assertEquals(List.of("ok1@dest.test", "ok2@dest.test"), got.rcpts());
        assertEquals("<sender@origin.test> SIZE=" + msg("hello\r\n").length, got.mailFrom());
        assertTrue(r.reusable());
        c.quit();
    }

    @Test
    public void withoutPipeliningCommandsGoOneByOne() throws Exception {
        server.extensions = List.of("8BITMIME");
        server.rcptReplies.put("unknown@dest.test", "550 5.1.1 no such user");
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        assertFalse(c.capabilities().pipelining());
        Transaction.Result r = send(c, env("unknown@dest.test", "ok@dest.test"), msg("x\r\n"));
        assertEquals(Status.FAILED, r.outcomes().get(0).result().status());
        assertEquals(Status.DELIVERED, r.outcomes().get(1).result().status());
        assertEquals(List.of("ok@dest.test"), server.next(5).rcpts());
        c.quit();
    }

    @Test
    public void heloFallbackWhenEhloRefused() throws Exception {
        server.ehloRefused = true;
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        assertFalse(c.capabilities().esmtp());
        Transaction.Result r = send(c, env("ok@dest.test"), msg("x\r\n"));
        assertEquals(Status.DELIVERED, r.outcomes().get(0).result().status());
        assertTrue(server.commands.stream().anyMatch(l -> l.startsWith("HELO client.test")));
        c.quit();
    }

    @Test
    public void refusedFirstMxFallsBackToNext() throws Exception {
        // nothing listens on 127.0.0.2 at that port: connection refused
        SmtpConnection c = connect(route("down.dest.test", "127.0.0.2", "up.dest.test", "127.0.0.1"));
        assertEquals("up.dest.test", c.mxHost());
        c.quit();
    }

    @Test
    public void tempFailGreetingFallsBackToNextMx() throws Exception {
        TestSmtpServer busy = new TestSmtpServer(InetAddress.getByName("127.0.0.3"), server.port());
        extra.add(busy);
        busy.greeting = "421 4.3.2 too busy";
        SmtpConnection c = connect(route("busy.dest.test", "127.0.0.3", "up.dest.test", "127.0.0.1"));
        assertEquals("up.dest.test", c.mxHost());
        assertEquals(1, busy.connections.get());
        c.quit();
    }

    @Test
    public void allMxDownGivesTemporaryFailure() throws Exception {
        SmtpClient.Connected c = client.connect(route("a.test", "127.0.0.2", "b.test", "127.0.0.4"), cs(server.port()))
                .get(10, TimeUnit.SECONDS);
        assertNull(c.connection());
        assertEquals(451, c.failure().reply().code());
        assertEquals("b.test", c.failure().mxHost());
    }

    @Test
    public void sizeLimitRefusalIsPermanent534() throws Exception {
        server.extensions = List.of("PIPELINING", "SIZE 100");
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Transaction.Result r = send(c, env("ok@dest.test"), msg("x".repeat(200) + "\r\n"));
        assertEquals(Status.FAILED, r.outcomes().get(0).result().status());
        assertEquals("5.3.4", r.outcomes().get(0).result().reply().enhancedStatus());
        assertFalse("nothing is sent", server.commands.stream().anyMatch(l -> l.startsWith("MAIL")));
        c.quit();
    }

    @Test
    public void internationalAddressWithoutSmtpUtf8IsPermanent567() throws Exception {
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Transaction.Result r = send(c, env("jörg@dest.test"), msg("x\r\n"));
        assertEquals(Status.FAILED, r.outcomes().get(0).result().status());
        assertEquals("5.6.7", r.outcomes().get(0).result().reply().enhancedStatus());
        c.quit();
    }

    @Test
    public void internationalAddressWithSmtpUtf8IsSent() throws Exception {
        server.extensions = List.of("PIPELINING", "8BITMIME", "SMTPUTF8");
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Transaction.Result r = send(c, env("jörg@dest.test"), msg("x\r\n"));
        assertEquals(Status.DELIVERED, r.outcomes().get(0).result().status());
        TestSmtpServer.Received got = server.next(5);
        assertEquals(List.of("jörg@dest.test"), got.rcpts());
        assertTrue(got.mailFrom(), got.mailFrom().contains("SMTPUTF8"));
        c.quit();
    }

    @Test
    public void dotStuffingRoundTrip() throws Exception {
        String body = ".leading dot\r\n..two dots\r\n.\r\nmiddle . dot\r\nno final newline.";
        byte[] content = msg(body);
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Transaction.Result r = send(c, env("ok@dest.test"), content);
        assertEquals(Status.DELIVERED, r.outcomes().get(0).result().status());
        byte[] expected = msg(body + "\r\n");
        assertArrayEquals(expected, server.next(5).data());
        c.quit();
    }

    @Test
    public void connectionReuseForTwoMessages() throws Exception {
        ConnectionPool pool = new ConnectionPool(100, Duration.ofSeconds(30), 10);
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        assertEquals(Status.DELIVERED, send(c, env("a@dest.test"), msg("one\r\n")).outcomes().get(0).result().status());
        pool.release("dest.test", c, true);
        SmtpConnection again = pool.acquire("dest.test");
        assertNotNull(again);
        assertEquals(Status.DELIVERED, send(again, env("b@dest.test"), msg("two\r\n")).outcomes().get(0).result().status());
        TestSmtpServer.Received m1 = server.next(5);
        TestSmtpServer.Received m2 = server.next(5);
        assertEquals(m1.connection(), m2.connection());
        assertEquals(1, server.connections.get());
        pool.closeAll();
    }

    @Test
    public void dirtyConnectionIsResetBeforeReuse() throws Exception {
        server.rcptReplies.put("x@dest.test", "550 5.1.1 no");
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Transaction.Result r1 = send(c, env("x@dest.test"), msg("one\r\n"));
        assertEquals(Status.FAILED, r1.outcomes().get(0).result().status());
        assertTrue(r1.reusable());
        Transaction.Result r2 = send(c, env("y@dest.test"), msg("two\r\n"));
        assertEquals(Status.DELIVERED, r2.outcomes().get(0).result().status());
        assertTrue(server.commands.contains("RSET"));
        c.quit();
    }

    @Test
    public void endOfDataTimeoutDefersAndDropsConnection() throws Exception {
        server.dataEndReply = null; // the peer never answers the final dot
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Timeouts t = new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5),
                Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMillis(300));
        long start = System.nanoTime();
        Transaction.Result r = Transaction.run(c, Transaction.Message.of(env("ok@dest.test"), msg("x\r\n")),
                env("ok@dest.test").recipients(), t, false).get(10, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4));
        assertEquals(Status.DEFERRED, r.outcomes().get(0).result().status());
        assertEquals("4.4.2", r.outcomes().get(0).result().reply().enhancedStatus());
        assertTrue(r.outcomes().get(0).result().reply().text().contains("end of data"));
        assertFalse(r.reusable());
        assertFalse(c.isUsable());
    }

    @Test
    public void startTlsWhenOffered() throws Exception {
        server.tls = TestTls.serverContext();
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        assertTrue(c.isTls());
        assertEquals(Status.DELIVERED, send(c, env("ok@dest.test"), msg("secret\r\n")).outcomes().get(0).result().status());
        assertTrue(server.next(5).tls());
        c.quit();
    }

    @Test
    public void orcptIsXtextEncodedInRcptTo() throws Exception {
        server.extensions = List.of("PIPELINING", "DSN");
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        // stored decoded; '+', '=', space and CR LF must go out as +HH (and cannot inject a command)
        Recipient r = new Recipient(MailAddress.parse("ok@dest.test"), java.util.Set.of(Recipient.Notify.FAILURE),
                "rfc822;a+b=c d\r\nRSET@x.test");
        Envelope e = env("ok@dest.test").withRecipients(List.of(r));
        Transaction.Result res = Transaction.run(c, Transaction.Message.of(e, msg("x\r\n")), List.of(r),
                Timeouts.uniform(Duration.ofSeconds(5)), false).get(10, TimeUnit.SECONDS);
        assertEquals(Status.DELIVERED, res.outcomes().get(0).result().status());
        assertTrue(server.commands.toString(), server.commands.contains(
                "RCPT TO:<ok@dest.test> NOTIFY=FAILURE ORCPT=rfc822;a+2Bb+3Dc+20d+0D+0ARSET@x.test"));
        assertFalse(server.commands.contains("RSET"));
        assertEquals("bad address type: left out", "RCPT TO:<ok@dest.test>", Transaction.rcptCommand(
                new Recipient(MailAddress.parse("ok@dest.test"), java.util.Set.of(), "rfc 822;x@y.test"),
                c.capabilities()));
        c.quit();
    }

    @Test
    public void internationalRecipientFailsAloneWithoutSmtpUtf8() throws Exception {
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        Transaction.Result r = send(c, env("a@dest.test", "jörg@dest.test", "b@dest.test"), msg("x\r\n"));
        assertEquals(Status.DELIVERED, r.outcomes().get(0).result().status());
        assertEquals(Status.FAILED, r.outcomes().get(1).result().status());
        assertEquals("5.6.7", r.outcomes().get(1).result().reply().enhancedStatus());
        assertEquals(Status.DELIVERED, r.outcomes().get(2).result().status());
        TestSmtpServer.Received got = server.next(5);
        assertEquals(List.of("a@dest.test", "b@dest.test"), got.rcpts());
        assertFalse(got.mailFrom(), got.mailFrom().contains("SMTPUTF8"));
        assertTrue(r.reusable());
        c.quit();
    }

    @Test
    public void fiveHundredGreetingIsPermanentOnlyWhenEveryAddressSaysSo() throws Exception {
        TestSmtpServer rude = new TestSmtpServer(InetAddress.getByName("127.0.0.3"), server.port());
        extra.add(rude);
        rude.greeting = "554 5.7.1 go away";
        // another address accepts: skipped
        SmtpConnection c = connect(route("rude.dest.test", "127.0.0.3", "up.dest.test", "127.0.0.1"));
        assertEquals("up.dest.test", c.mxHost());
        c.quit();
        // 5xx then unreachable, and unreachable then 5xx: temporary whatever the MX order
        for (Route r : List.of(route("rude.dest.test", "127.0.0.3", "down.dest.test", "127.0.0.2"),
                route("down.dest.test", "127.0.0.2", "rude.dest.test", "127.0.0.3"))) {
            SmtpClient.Connected f = client.connect(r, cs(server.port())).get(10, TimeUnit.SECONDS);
            assertNull(f.connection());
            assertTrue(f.failure().reply().toString(), f.failure().reply().isTransient());
        }
        SmtpClient.Connected f = client.connect(route("down.dest.test", "127.0.0.2", "rude.dest.test", "127.0.0.3"),
                cs(server.port())).get(10, TimeUnit.SECONDS);
        assertEquals("4.7.1", f.failure().reply().enhancedStatus());
        assertTrue(f.failure().reply().text(), f.failure().reply().text().contains("go away"));
        // every address refuses with 5xx (greeting or EHLO+HELO): permanent
        server.greeting = "521 5.3.2 no mail here";
        f = client.connect(route("rude.dest.test", "127.0.0.3", "mx.dest.test", "127.0.0.1"), cs(server.port()))
                .get(10, TimeUnit.SECONDS);
        assertNull(f.connection());
        assertEquals(521, f.failure().reply().code());
    }

    @Test
    public void failedStartTlsHandshakeFallsBackToPlaintextOnTheSameAddress() throws Exception {
        javax.net.ssl.SSLContext keyless = javax.net.ssl.SSLContext.getInstance("TLS");
        keyless.init(null, null, null); // no certificate: every handshake fails
        server.tls = keyless;
        SmtpConnection c = connect(route("mx.dest.test", "127.0.0.1"));
        assertFalse(c.isTls());
        assertEquals(2, server.connections.get());
        assertEquals(Status.DELIVERED, send(c, env("ok@dest.test"), msg("x\r\n")).outcomes().get(0).result().status());
        assertFalse(server.next(5).tls());
        c.quit();
        // TLS required: no plaintext fallback
        ConnectSettings req = new ConnectSettings(server.port(), "client.test", "", Timeouts.uniform(Duration.ofSeconds(5)),
                true, true);
        SmtpClient.Connected f = client.connect(route("mx.dest.test", "127.0.0.1"), req).get(10, TimeUnit.SECONDS);
        assertNull(f.connection());
        assertEquals("4.7.5", f.failure().reply().enhancedStatus());
        assertEquals(3, server.connections.get());
    }

    @Test
    public void tlsRequiredButNotOfferedIsTemporary475() throws Exception {
        ConnectSettings req = new ConnectSettings(server.port(), "client.test", "", Timeouts.uniform(Duration.ofSeconds(5)),
                true, true);
        SmtpClient.Connected c = client.connect(route("mx.dest.test", "127.0.0.1"), req).get(10, TimeUnit.SECONDS);
        assertNull(c.connection());
        assertEquals("4.7.5", c.failure().reply().enhancedStatus());
    }
}
