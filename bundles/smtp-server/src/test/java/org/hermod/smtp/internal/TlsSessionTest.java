package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

/**
 * STARTTLS, implicit TLS and AUTH with a real TLS handshake between two EmbeddedChannels (a client SslHandler on one
 * side, the session on the other), and the self-signed certificate Hermod generates on first start.
 */
public class TlsSessionTest {

    private static Path dir;
    private static TlsCertificates certs;

    private final SmtpSessionTest.RecordingSpool spool = new SmtpSessionTest.RecordingSpool();
    private EmbeddedChannel server;
    private EmbeddedChannel client;
    private final StringBuilder plain = new StringBuilder();
    private final StringBuilder received = new StringBuilder();
    private final ClientRates rates = new ClientRates();
    private final List<String> logins = new java.util.ArrayList<>();

    @BeforeClass
    public static void certificate() throws Exception {
        dir = Files.createTempDirectory("hermod-tls");
        certs = new TlsCertificates(dir.resolve("c.pem"), dir.resolve("k.pem"), "mx.test", List.of("TLSv1.3", "TLSv1.2"));
    }

    @AfterClass
    public static void clean() throws Exception {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** user "u" password "p" is valid. */
    private final Authenticator auth = (user, password) -> {
        logins.add(user);
        return CompletableFuture.completedFuture(user.equals("u") && new String(password).equals("p"));
    };

    private void start(ListenerMode mode) {
        SmtpSettings s = TestConfig.settings("hostname", "mx.test", "mynetworks", new String[] {"10.0.0.0/8"},
                "relayDomains", new String[] {"relay.test"});
        SmtpFrameDecoder framer = new SmtpFrameDecoder(false, new DataBudget(1L << 30));
        SmtpSession session = new SmtpSession(s, new SessionServices(spool, RecipientPolicy.NONE, mode, certs, auth, rates,
                null, SmtpEvents.NONE, null), framer);
        server = mode.implicitTls
                ? new EmbeddedChannel(certs.newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT), framer, session)
                : new EmbeddedChannel(framer, session);
        client = new EmbeddedChannel(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                received.append(b.toString(StandardCharsets.UTF_8));
                b.release();
            }
        });
        if (mode.implicitTls) {
            startClientTls();
        }
        shuttle();
    }

    private void startClientTls() {
        try {
            SslContext c = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
            client.pipeline().addFirst(c.newHandler(client.alloc(), "mx.test", 25));
        } catch (javax.net.ssl.SSLException e) {
            throw new AssertionError(e);
        }
    }

    /** Moves bytes both ways until neither side has anything more to say. */
    private void shuttle() {
        for (int i = 0; i < 100; i++) {
            boolean moved = false;
            ByteBuf b;
            while ((b = server.readOutbound()) != null) {
                client.writeInbound(b);
                moved = true;
            }
            while ((b = client.readOutbound()) != null) {
                server.writeInbound(b);
                moved = true;
            }
            server.runPendingTasks();
            client.runPendingTasks();
            if (!moved) {
                return;
            }
        }
        throw new AssertionError("no end to the exchange");
    }

    /** Sends as the application (through the client's TLS handler when there is one) and returns what came back. */
    private String send(String s) {
        received.setLength(0);
        client.writeAndFlush(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
        shuttle();
        return received.toString();
    }

    @Test
    public void selfSignedCertificateIsGeneratedOnFirstStart() throws Exception {
        assertTrue(certs.available());
        String pem = Files.readString(dir.resolve("c.pem"));
        assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----"));
        assertTrue(Files.readString(dir.resolve("k.pem")).startsWith("-----BEGIN PRIVATE KEY-----"));
    }

    @Test
    public void starttlsDiscardsWhatWasPipelinedBeforeTheHandshake() {
        start(ListenerMode.MTA);
        assertTrue(received.toString().startsWith("220 mx.test"));
        assertTrue(send("EHLO c\r\n").contains("250-STARTTLS"));
        // CVE-2011-0411: a command injected after STARTTLS in the same packet
        String r = send("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n");
        assertEquals("220 2.0.0 Ready to start TLS\r\n", r);
        startClientTls();
        shuttle();
        assertTrue("handshake done", client.pipeline().get(SslHandler.class).handshakeFuture().isSuccess());
        // the session is back to before EHLO, and the injected MAIL was never executed
        assertTrue(send("RCPT TO:<b@relay.test>\r\n").startsWith("503 5.5.1 Error: need MAIL"));
        assertTrue(send("MAIL FROM:<a@x.test>\r\n").startsWith("503 5.5.1 Error: send HELO/EHLO first"));
        String ehlo = send("EHLO c\r\n");
        assertFalse("no second STARTTLS", ehlo.contains("STARTTLS"));
        assertFalse("no AUTH on the MTA port", ehlo.contains("AUTH"));
        send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\nDATA\r\n");
        assertTrue(send("Subject: t\r\n\r\nhi\r\n.\r\n").startsWith("250 2.0.0 Ok: queued"));
        String content = new String(spool.contents.get(0), StandardCharsets.UTF_8);
        assertTrue(content, content.contains("(using TLSv1.3 with cipher ") && content.contains("with ESMTPS id"));
    }

    @Test
    public void commandsPipelinedOverTlsWhileAMessageIsStoredAreAnsweredAfterIt() {
        start(ListenerMode.MTA);
        send("EHLO c\r\n");
        send("STARTTLS\r\n");
        startClientTls();
        shuttle();
        send("EHLO c\r\n");
        spool.hold = true; // the fsync takes a while: the session pauses until the spool answers
        send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\nDATA\r\n");
        String r = send("Subject: one\r\n\r\nhi\r\n.\r\nMAIL FROM:<c@x.test>\r\nRCPT TO:<d@relay.test>\r\nDATA\r\n");
        assertEquals("nothing before the message is stored", "", r);
        spool.hold = false;
        spool.pending.complete("stored");
        received.setLength(0);
        server.runPendingTasks(); // the spool's answer is handed to the channel's event loop
        shuttle();
        assertEquals("250 2.0.0 Ok: queued as Q1\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
                received.toString());
    }

    @Test
    public void submissionNeedsStarttlsBeforeAuthAndAuthBeforeMail() {
        start(ListenerMode.SUBMISSION);
        String ehlo = send("EHLO c\r\n");
        assertTrue(ehlo.contains("250-STARTTLS") && !ehlo.contains("AUTH"));
        assertTrue(send("AUTH PLAIN " + plain("u", "p") + "\r\n").startsWith("538 5.7.11"));
        assertTrue(send("MAIL FROM:<a@x.test>\r\n").startsWith("530 5.7.0 Must issue a STARTTLS command first"));
        assertTrue("credentials never reached the realm in plain text", logins.isEmpty());
        send("STARTTLS\r\n");
        startClientTls();
        shuttle();
        assertTrue(send("EHLO c\r\n").contains("250-AUTH PLAIN LOGIN"));
        assertTrue(send("MAIL FROM:<a@x.test>\r\n").startsWith("530 5.7.0 Authentication required"));
        assertTrue(send("AUTH PLAIN " + plain("u", "wrong") + "\r\n").startsWith("535 5.7.8"));
        assertTrue(send("AUTH LOGIN\r\n").startsWith("334 VXNlcm5hbWU6"));
        assertTrue(send(b64("u") + "\r\n").startsWith("334 UGFzc3dvcmQ6"));
        assertTrue(send(b64("p") + "\r\n").startsWith("235 2.7.0"));
        // authenticated: relaying to any domain
        String r = send("MAIL FROM:<u@x.test>\r\nRCPT TO:<someone@anywhere.test>\r\nDATA\r\n");
        assertTrue(r, r.contains("250 2.1.5") && r.contains("354"));
        assertTrue(send("Subject: s\r\n\r\nbody\r\n.\r\n").startsWith("250 2.0.0 Ok: queued"));
        String content = new String(spool.contents.get(0), StandardCharsets.UTF_8);
        assertTrue(content, content.contains("(Authenticated sender: u)") && content.contains("with ESMTPSA id"));
    }

    @Test
    public void implicitTlsSubmissionAndFailedAuthThrottling() {
        start(ListenerMode.SUBMISSIONS);
        assertTrue(received.toString(), received.toString().startsWith("220 mx.test"));
        assertTrue(send("EHLO c\r\n").contains("250-AUTH PLAIN LOGIN"));
        for (int i = 0; i < 5; i++) {
            assertTrue(send("AUTH PLAIN " + plain("u", "guess" + i) + "\r\n").startsWith("535 5.7.8"));
        }
        // the sixth attempt is refused without asking the realm, even with the right password
        int asked = logins.size();
        assertTrue(send("AUTH PLAIN " + plain("u", "p") + "\r\n").startsWith("454 4.7.0"));
        assertEquals(asked, logins.size());
        // and the count is per client IP, not per session
        start(ListenerMode.SUBMISSIONS);
        send("EHLO c\r\n");
        assertTrue(send("AUTH PLAIN " + plain("u", "p") + "\r\n").startsWith("454 4.7.0"));
    }

    @Test
    public void authIsNotOfferedOnTheMtaPort() {
        start(ListenerMode.MTA);
        send("EHLO c\r\n");
        assertTrue(send("AUTH PLAIN " + plain("u", "p") + "\r\n").startsWith("502 5.5.1"));
    }

    private static String plain(String user, String password) {
        return b64("\0" + user + "\0" + password);
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
