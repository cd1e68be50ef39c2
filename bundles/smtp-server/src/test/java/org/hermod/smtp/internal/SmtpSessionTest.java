package org.hermod.smtp.internal;

import org.hermod.api.routing.Route;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.hermod.api.Envelope;
import org.hermod.api.Recipient;
import org.hermod.api.spool.Spool;
import org.junit.Before;
import org.junit.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/** The ESMTP state machine driven through Netty's EmbeddedChannel, including split and merged packets. */
public class SmtpSessionTest {

    /** Records what would be spooled; completes immediately unless told to hold. */
    static final class RecordingSpool implements Spool {
        final List<Envelope> envelopes = new ArrayList<>();
        final List<byte[]> contents = new ArrayList<>();
        final List<Route> routes = new ArrayList<>();
        final List<String> holds = new ArrayList<>();
        CompletableFuture<String> pending;
        boolean hold;
        /** When set, every store fails with it. */
        Exception failure;
        int ids;

        @Override
        public CompletableFuture<String> store(Envelope envelope, byte[] content) {
            return store(newQueueId(), envelope, content);
        }

        @Override
        public CompletableFuture<String> store(String id, Envelope envelope, byte[] content) {
            return store(id, envelope, Route.DEFAULT, null, content);
        }

        @Override
        public CompletableFuture<String> store(String id, Envelope envelope, Route route, String holdReason,
                                               byte[] content) {
            if (failure != null) {
                return CompletableFuture.failedFuture(failure);
            }
            envelopes.add(envelope);
            contents.add(content);
            routes.add(route);
            holds.add(holdReason);
            if (hold) {
                pending = new CompletableFuture<>();
                return pending.thenApply(x -> id);
            }
            return CompletableFuture.completedFuture(id);
        }


        @Override
        public String newQueueId() {
            return "Q" + (++ids);
        }
    }

    private RecordingSpool spool;
    private EmbeddedChannel ch;
    private DataBudget budget = new DataBudget(1L << 30);

    @Before
    public void setUp() {
        spool = new RecordingSpool();
        ch = channel(false, 10_000);
    }

    private EmbeddedChannel channel(boolean normalize, long maxSize) {
        return channel(normalize, maxSize, 300_000, true, RecipientPolicy.NONE);
    }

    private EmbeddedChannel channel(boolean normalize, long maxSize, long commandTimeout, boolean refuseSuppressed,
                                    RecipientPolicy policy) {
        return channel(TestConfig.settings("hostname", "mx.test", "maxMessageSize", maxSize, "maxRecipients", 3,
                "commandTimeoutSeconds", (int) (commandTimeout / 1000), "mynetworks", new String[] {"127.0.0.0/8"},
                "relayDomains", new String[] {"relay.test"}, "bareNewline", normalize ? "normalize" : "reject",
                "refuseSuppressed", refuseSuppressed), policy);
    }

    private EmbeddedChannel channel(SmtpSettings s, RecipientPolicy policy) {
        SmtpFrameDecoder framer = new SmtpFrameDecoder(s.normalizeBareNewlines(), budget);
        EmbeddedChannel c = new EmbeddedChannel(framer, new SmtpSession(s, new SessionServices(spool, policy,
                ListenerMode.MTA, null, null, new ClientRates(), null, SmtpEvents.NONE, null), framer));
        c.freezeTime(); // the session's clock moves only with advanceTimeBy
        return c;
    }

    /** A policy that refuses one address, as the suppression list does. */
    private static RecipientPolicy suppressing(String address) {
        return new RecipientPolicy() {
            @Override
            public boolean isLocalDomain(String domain) {
                return false;
            }

            @Override
            public String refusal(org.hermod.api.MailAddress r) {
                return r.toString().equals(address) ? "550 5.7.1 <" + r + ">: suppressed" : null;
            }

            @Override
            public boolean isBounceInput(Envelope envelope) {
                return false;
            }

            @Override
            public java.util.concurrent.CompletionStage<String> acceptBounce(Envelope e, byte[] c) {
                return NONE.acceptBounce(e, c);
            }
        };
    }

    @Test
    public void suppressedRecipientsAreRefusedAtRcptUnlessConfiguredOtherwise() {
        ch = channel(false, 10_000, 300_000, true, suppressing("gone@y.test"));
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<gone@y.test>\r\nRCPT TO:<here@y.test>\r\n");
        String r = replies();
        assertTrue(r, r.contains("550 5.7.1 <gone@y.test>: suppressed") && r.endsWith("250 2.1.5 Ok\r\n"));
        ch = channel(false, 10_000, 300_000, false, suppressing("gone@y.test"));
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<gone@y.test>\r\n");
        assertTrue(replies().endsWith("250 2.1.5 Ok\r\n"));
    }

    @Test
    public void aMessageWaitingForTheSpoolStillCountsAgainstTheSharedDataBudget() {
        budget = new DataBudget(3 * DataBudget.CHUNK);
        spool.hold = true;
        ch = channel(false, 1_000_000);
        replies();
        String big = ("y".repeat(900) + "\r\n").repeat(100) + ".\r\n"; // ~90 KB: two chunks of the budget
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + big);
        assertEquals(2 * DataBudget.CHUNK, budget.used());
        EmbeddedChannel first = ch;
        ch = channel(false, 1_000_000); // a second client while the first message is being written
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + big);
        assertTrue("the held bytes leave no room", replies().endsWith("452 4.3.1 Error: insufficient system resources"
                + " for this message now, try again later\r\n"));
        spool.pending.complete("done");
        first.runPendingTasks();
        assertEquals(0, budget.used());
    }

    @Test
    public void sharedDataBudgetDefersTransfersAndIsReturnedAfterwards() {
        budget = new DataBudget(DataBudget.CHUNK);
        ch = channel(false, 1_000_000);
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        send(("y".repeat(900) + "\r\n").repeat(100) + ".\r\n");
        assertTrue(replies().startsWith("452 4.3.1"));
        assertEquals("memory given back", 0, budget.used());
        send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        send("small\r\n.\r\n");
        assertTrue(replies().startsWith("250 2.0.0"));
        assertEquals(0, budget.used());
    }

    @Test
    public void postmasterWithoutDomainIsAccepted() {
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n");
        assertTrue(replies().contains("250 2.1.5 Ok\r\n354"));
        send("hi\r\n.\r\n");
        replies();
        assertEquals("postmaster@mx.test", spool.envelopes.get(0).recipients().get(0).address().toString());
    }

    @Test
    public void aClientThatOnlySendsNoopsIsDisconnected() {
        replies();
        for (int i = 0; i < SmtpSession.JUNK_LIMIT; i++) {
            send("NOOP\r\n");
        }
        assertTrue(ch.isActive());
        send("NOOP\r\n");
        assertTrue(replies().endsWith("421 4.7.0 mx.test Error: too many commands without mail\r\n"));
        assertFalse(ch.isActive());
    }

    @Test
    public void helpCountsAsAJunkCommand() {
        Harness h = new Harness(null);
        h.send("EHLO c\r\n");
        for (int i = 1; i < SmtpSession.JUNK_LIMIT; i++) { // EHLO was the first
            assertTrue(h.send("HELP\r\n").startsWith("214"));
        }
        assertTrue(h.ch.isActive());
        assertTrue(h.send("HELP\r\n").endsWith("421 4.7.0 mx.test Error: too many commands without mail\r\n"));
        assertFalse(h.ch.isActive());
    }

    @Test
    public void aSessionEndsAfterItsMaximumLifetime() {
        Harness h = new Harness(null); // default maxSessionSeconds: one hour
        StringBuilder all = new StringBuilder();
        int seconds = 0;
        while (h.ch.isActive() && seconds < 7200) {
            all.append(h.send("NOOP\r\n")); // every 200 s: inside the idle timeout, far from the junk limit
            h.ch.advanceTimeBy(200, TimeUnit.SECONDS);
            seconds += 200;
            h.ch.runScheduledPendingTasks();
            all.append(h.replies());
        }
        assertFalse(h.ch.isActive());
        assertTrue("closed at one hour: " + seconds, seconds > 3400 && seconds <= 3800);
        assertTrue(all.toString(), all.toString().endsWith("421 4.4.2 mx.test Error: session lasted too long\r\n"));

        Harness off = new Harness(null, "maxSessionSeconds", 0);
        for (int t = 0; t < 7200; t += 200) {
            off.send("NOOP\r\n");
            off.ch.advanceTimeBy(200, TimeUnit.SECONDS);
            off.ch.runScheduledPendingTasks();
        }
        assertTrue("0 turns the limit off", off.ch.isActive());
    }

    @Test
    public void anIdleClientIsDisconnectedWith421() {
        ch = channel(false, 10_000, 150_000, true, RecipientPolicy.NONE);
        replies();
        send("EHLO c\r\n");
        replies();
        ch.advanceTimeBy(149, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue("still open before the timeout", ch.isActive());
        ch.advanceTimeBy(2, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(replies().startsWith("421 4.4.2 mx.test Error: timeout exceeded"));
        assertFalse(ch.isActive());
    }

    @Test
    public void aClientDrippingBytesIsClosedWithinTheCommandLineBudget() {
        replies();
        send("EHLO c\r\n");
        replies();
        // one byte every 5 seconds: each byte is activity, but the line never ends
        int seconds = 0;
        while (ch.isActive() && seconds < 300) {
            send("N");
            ch.advanceTimeBy(5, TimeUnit.SECONDS);
            seconds += 5;
            ch.runScheduledPendingTasks();
        }
        assertFalse("closed after " + seconds + " s", ch.isActive());
        assertTrue("within the 30 s budget, not the 300 s command timeout: " + seconds, seconds <= 35);
        assertTrue(replies().startsWith("421 4.4.2 mx.test Error: command lines too slow"));
    }

    @Test
    public void aClientDrippingMessageDataIsClosedByTheMinimumRate() {
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        int seconds = 0;
        while (ch.isActive() && seconds < 3600) {
            send("x"); // well inside the 180 s data timeout each time, far below 500 octets/s
            ch.advanceTimeBy(10, TimeUnit.SECONDS);
            seconds += 10;
            ch.runScheduledPendingTasks();
        }
        assertFalse(ch.isActive());
        assertTrue("after about the 180 s data timeout: " + seconds, seconds <= 200);
        assertTrue(replies().startsWith("421 4.4.2 mx.test Error: data transfer too slow"));
        assertTrue(spool.envelopes.isEmpty());
    }

    @Test
    public void aLongLineWithoutCrlfIsAnsweredAtOnceAndTheSessionGoesOn() {
        replies();
        send("EHLO c\r\n");
        replies();
        send("x".repeat(100_000));
        assertEquals("answered without waiting for a line end", "500 5.5.2 Error: command line too long\r\n", replies());
        send("y".repeat(50_000) + "\r\nNOOP\r\n");
        assertEquals("the rest of the line is dropped silently", "250 2.0.0 Ok\r\n", replies());
    }

    @Test
    public void esmtpParametersNeedEhlo() {
        replies();
        send("HELO c\r\nMAIL FROM:<a@x.test> SIZE=100\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test> NOTIFY=NEVER\r\n"
                + "RCPT TO:<b@y.test>\r\n");
        String r = replies();
        assertTrue(r, r.startsWith("250 mx.test\r\n555 5.5.4") && r.contains("250 2.1.0 Ok\r\n555 5.5.4")
                && r.endsWith("250 2.1.5 Ok\r\n"));
    }

    @Test
    public void recipientLocalPartsOver64OctetsAreRefused() {
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<" + "l".repeat(64) + "@y.test>\r\nRCPT TO:<"
                + "l".repeat(65) + "@y.test>\r\n");
        String r = replies();
        assertTrue(r, r.contains("250 2.1.5 Ok\r\n501 5.1.3"));
    }

    @Test
    public void theSessionRecoversAfterAnEhloWithABareCr() {
        replies();
        send("EHLO a\rb.test\r\nEHLO c.test\r\n");
        String r = replies();
        assertTrue(r, r.startsWith("500 5.5.2 Error: bare <CR> or <LF>") && r.indexOf("\r\n250-mx.test") > 0);
        assertEquals("exactly one reply for the bad line", 1, r.split("500 ").length - 1);
    }

    private void send(String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
        ch.runPendingTasks();
    }

    private String replies() {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return sb.toString();
    }

    @Test
    public void greetsAndAdvertisesExtensions() {
        assertTrue(replies().startsWith("220 mx.test ESMTP"));
        send("EHLO client.test\r\n");
        String r = replies();
        for (String ext : new String[] {"PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"}) {
            assertTrue(ext + " in " + r, r.contains("250-" + ext) || r.contains("250 " + ext));
        }
    }

    @Test
    public void acceptsAMessageAndKeepsDsnParameters() {
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME\r\n"
                + "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40y.test\r\nDATA\r\n");
        String r = replies();
        assertTrue(r, r.contains("250 2.1.0") && r.contains("250 2.1.5") && r.contains("354 "));
        send("Subject: hi\r\n\r\n..dot\r\nbody \u00e9\r\n.\r\n");
        assertTrue(replies().startsWith("250 2.0.0 Ok: queued as Q1"));
        Envelope e = spool.envelopes.get(0);
        assertEquals(Envelope.Ret.HDRS, e.ret());
        assertEquals("abc+def", e.envId());
        assertEquals(Envelope.BodyType.EIGHT_BIT_MIME, e.body());
        Recipient rc = e.recipients().get(0);
        assertEquals("rfc822;b@y.test", rc.orcpt());
        assertTrue(rc.notifyOn().contains(Recipient.Notify.SUCCESS));
        String content = new String(spool.contents.get(0), StandardCharsets.UTF_8);
        assertTrue(content, content.startsWith("Received: from c ([127.0.0.1])"));
        assertTrue(content.contains("Message-ID: <Q1@mx.test>"));
        assertTrue("dot-unstuffed, 8-bit kept: " + content, content.endsWith("Subject: hi\r\n\r\n.dot\r\nbody \u00e9\r\n"));
    }

    @Test
    public void pipelinedBatchIsAnsweredInOrderAndSplitPacketsWork() {
        replies();
        String all = "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<bad>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n";
        // one byte at a time
        for (int i = 0; i < all.length(); i++) {
            send(all.substring(i, i + 1));
        }
        String r = replies();
        int a = r.indexOf("250 2.1.0");
        int b = r.indexOf("250 2.1.5");
        int c = r.indexOf("501 5.1.3");
        int d = r.indexOf("354");
        int e = r.indexOf("250 2.0.0 Ok: queued");
        int f = r.indexOf("221 2.0.0");
        assertTrue(r, a > 0 && a < b && b < c && c < d && d < e && e < f);
        assertTrue(spool.envelopes.get(0).sender().isNullSender());
    }

    @Test
    public void commandsPipelinedAfterDataWaitForTheSpool() {
        spool.hold = true;
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        send("m1\r\n.\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
        assertEquals("nothing answered before the message is durable", "", replies());
        spool.pending.complete("x");
        ch.runPendingTasks();
        String r = replies();
        assertTrue(r, r.startsWith("250 2.0.0 Ok: queued as Q1\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354"));
    }

    @Test
    public void outOfOrderAndUnknownCommands() {
        replies();
        send("MAIL FROM:<a@x.test>\r\n");
        assertTrue(replies().startsWith("503 5.5.1"));
        send("HELO c\r\nRCPT TO:<b@y.test>\r\n");
        assertTrue(replies().contains("503 5.5.1 Error: need MAIL"));
        send("DATA\r\n");
        assertTrue(replies().startsWith("503 5.5.1"));
        send("MAIL FROM:<a@x.test>\r\nDATA\r\n");
        assertTrue(replies().contains("554 5.5.1 Error: no valid recipients"));
        send("FOO\r\nVRFY root\r\nNOOP\r\nRSET\r\nHELP\r\n");
        String r = replies();
        assertTrue(r, r.contains("500 5.5.2") && r.contains("252 2.0.0") && r.contains("214 2.0.0"));
        send("MAIL FROM:<a@x.test> FOO=BAR\r\n");
        assertTrue(replies().startsWith("555 5.5.4"));
    }

    @Test
    public void bareLineFeedIsNeverALineEnding() {
        replies();
        send("EHLO c\nMAIL FROM:<a@x.test>\r\n");
        String r = replies();
        assertEquals("one line with a bare LF, one reply", "500 5.5.2 Error: bare <CR> or <LF> received; SMTP lines end"
                + " with <CR><LF>\r\n", r);
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        // smuggling attempt: <LF>.<LF> and <LF>.<CR><LF> must not end the data
        send("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@x.test>\r\n\n.\r\nmore\r\n.\r\n");
        r = replies();
        assertTrue(r, r.startsWith("554 5.5.2"));
        assertFalse("the smuggled MAIL was not executed", r.contains("250 2.1.0"));
        assertTrue(spool.envelopes.isEmpty());
    }

    @Test
    public void normalizeModeTurnsBareLineFeedsIntoCrlf() {
        ch = channel(true, 10_000);
        replies();
        send("EHLO c\nMAIL FROM:<a@x.test>\nRCPT TO:<b@y.test>\nDATA\n");
        assertTrue(replies().contains("354"));
        send("Subject: x\n\nline\n.\nstill data\r\n.\r\n");
        assertTrue(replies().startsWith("250 2.0.0"));
        String c = new String(spool.contents.get(0), StandardCharsets.UTF_8);
        assertTrue(c, c.endsWith("Subject: x\r\n\r\nline\r\n\r\nstill data\r\n"));
    }

    @Test
    public void sizeLimitsAtMailAndAtEndOfData() {
        ch = channel(false, 100);
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test> SIZE=101\r\n");
        assertTrue(replies().contains("552 5.3.4"));
        send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        send("x".repeat(90) + "\r\n" + "y".repeat(90) + "\r\n.\r\n");
        assertTrue(replies().startsWith("552 5.3.4"));
        assertTrue(spool.envelopes.isEmpty());
    }

    @Test
    public void overlongLinesAreRefused() {
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        replies();
        send("z".repeat(1200) + "\r\n.\r\n");
        assertTrue(replies().startsWith("554 5.6.0"));
        send("NOOP " + "z".repeat(1200) + "\r\nNOOP\r\n");
        String r = replies();
        assertTrue(r, r.startsWith("500 5.5.2 Error: command line too long\r\n250 2.0.0"));
        assertTrue(spool.envelopes.isEmpty());
    }

    @Test
    public void tooManyRecipientsAndNotifyNeverCombination() {
        replies();
        send("EHLO c\r\nMAIL FROM:<a@x.test>\r\n");
        replies();
        send("RCPT TO:<b1@y.test> NOTIFY=NEVER,SUCCESS\r\n");
        assertTrue(replies().startsWith("501 5.5.4"));
        send("RCPT TO:<b1@y.test>\r\nRCPT TO:<b2@y.test>\r\nRCPT TO:<b3@y.test>\r\nRCPT TO:<b4@y.test>\r\n");
        assertTrue(replies().endsWith("452 4.5.3 Error: too many recipients\r\n"));
    }

    @Test
    public void internationalAddressNeedsSmtputf8() {
        replies();
        send("EHLO c\r\nMAIL FROM:<j\u00f6rg@x.test>\r\nMAIL FROM:<j\u00f6rg@x.test> SMTPUTF8\r\nRCPT TO:<\u00fc@b\u00fccher.test>\r\n");
        String r = replies();
        assertTrue(r, r.contains("553 5.6.7") && r.contains("250 2.1.0") && r.contains("250 2.1.5"));
    }

    @Test
    public void tooManyErrorsCloseTheSession() {
        replies();
        for (int i = 0; i < 20; i++) {
            send("BOGUS\r\n");
        }
        assertTrue(replies().contains("421 4.7.0"));
        assertFalse(ch.isActive());
    }
}
