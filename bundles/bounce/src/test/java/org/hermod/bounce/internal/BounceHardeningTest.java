package org.hermod.bounce.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.bounce.ReturnPathCodec;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Forged bounces, hostile MIME, catastrophic regexes, VERP length and case, per-recipient robustness. */
public class BounceHardeningTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private DerbySuppressionList suppression;
    private HmacReturnPathCodec codec;
    private Path log;
    private DefaultBounceProcessor processor;
    private RuleBasedBounceClassifier classifier;

    @Before
    public void setUp() throws Exception {
        suppression = new DerbySuppressionList(tmp.getRoot().toPath().resolve("db").toString());
        codec = new HmacReturnPathCodec("k3y".getBytes(StandardCharsets.UTF_8), "bounces.example.com");
        log = tmp.getRoot().toPath().resolve("log/bounce-events.jsonl");
        classifier = new RuleBasedBounceClassifier((Path) null);
        events = new BounceEventLog(log);
        processor = new DefaultBounceProcessor(classifier, suppression, codec, events, null);
    }

    private BounceEventLog events;

    /** The event log's lines once everything written so far is on disk. */
    private List<String> logLines() throws Exception {
        events.sync().get(5, java.util.concurrent.TimeUnit.SECONDS);
        return Files.readAllLines(log);
    }

    static byte[] dsn(String... finalRecipients) {
        StringBuilder sb = new StringBuilder();
        sb.append("From: MAILER-DAEMON@mx.example.net\r\nTo: whoever@bounces.example.com\r\n")
                .append("Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n")
                .append("Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n\r\n")
                .append("--BB\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n")
                .append("--BB\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n");
        for (String r : finalRecipients) {
            sb.append("\r\nFinal-Recipient: rfc822; ").append(r).append("\r\nAction: failed\r\nStatus: 5.1.1\r\n")
                    .append("Diagnostic-Code: smtp; 550 5.1.1 <").append(r).append(">: Recipient address rejected: ")
                    .append("User unknown in local recipient table\r\n");
        }
        sb.append("\r\n--BB--\r\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] arf(String feedbackType, String returnPath, String to) {
        return ("From: fbl@isp.example\r\nTo: fbl@bounces.example.com\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"FF\"\r\n\r\n"
                + "--FF\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
                + "--FF\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: " + feedbackType + "\r\n"
                + "User-Agent: test/1.0\r\nVersion: 1\r\n"
                + "--FF\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                + (returnPath == null ? "" : "Return-Path: <" + returnPath + ">\r\n")
                + "From: news@sender.example\r\nTo: " + to + "\r\nSubject: news\r\nMessage-ID: <1@sender.example>\r\n"
                + "\r\n--FF--\r\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    public void forgedDsnToUnsignedBounceAddressSuppressesNothing() throws Exception {
        BounceReport r = processor.process(dsn("ceo@customer.com"), "x@bounces.example.com");
        assertEquals(BounceReport.Kind.BOUNCE, r.kind());
        assertEquals("bad-mailbox", r.recipients().get(0).classification().category());
        assertFalse(suppression.contains("ceo@customer.com"));
        assertEquals(0, suppression.size());
        String line = logLines().get(0);
        assertTrue(line, line.contains("\"source\":\"async-unverified\""));
        // a tampered signature does not verify either
        String rp = codec.encode("Q1", "ceo@customer.com");
        int at = rp.indexOf('@');
        String bad = rp.substring(0, at - 1) + (rp.charAt(at - 1) == '0' ? '1' : '0') + rp.substring(at);
        processor.process(dsn("ceo@customer.com"), bad);
        assertEquals(0, suppression.size());
    }

    @Test
    public void signedDsnSuppressesOnlyTheSignedRecipient() throws Exception {
        String rp = codec.encode("Q7", "victim@example.org");
        BounceReport r = processor.process(dsn("ceo@customer.com", "cfo@customer.com"), rp);
        assertEquals("Q7", r.queueId());
        assertTrue(suppression.contains("victim@example.org"));
        assertFalse(suppression.contains("ceo@customer.com"));
        assertFalse(suppression.contains("cfo@customer.com"));
        assertEquals(1, suppression.size());
        assertEquals("victim@example.org", r.recipients().get(0).recipient());
        assertEquals("bad-mailbox", r.recipients().get(0).classification().category());
    }

    @Test
    public void complaintsNeedVerifiedVerpAndAllowedFeedbackType() throws Exception {
        processor.process(arf("abuse", null, "ceo@customer.com"), "fbl@bounces.example.com");
        assertEquals("unsigned complaint suppresses nothing", 0, suppression.size());
        processor.process(arf("abuse", "b-Q1-abc-12345678@bounces.example.com", "ceo@customer.com"), null);
        assertEquals("forged VERP in headers suppresses nothing", 0, suppression.size());
        String rp = codec.encode("Q2", "reader@example.org");
        processor.process(arf("not-spam", rp, "ceo@customer.com"), null);
        assertEquals("not-spam is not a complaint", 0, suppression.size());
        processor.process(arf("abuse", rp, "ceo@customer.com"), null);
        assertTrue(suppression.contains("reader@example.org"));
        assertFalse(suppression.contains("ceo@customer.com"));
        String rp2 = codec.encode("Q3", "other@example.org");
        processor.process(arf("opt-out", null, "ceo@customer.com"), rp2);
        assertTrue(suppression.contains("other@example.org"));
        assertEquals(2, suppression.size());
    }

    @Test
    public void oneBadRecipientDoesNotAbortTheOthers() throws Exception {
        AtomicInteger writes = new AtomicInteger();
        BounceEventLog flaky = new BounceEventLog(log) {
            @Override
            public void write(String source, String queueId, String recipient, Classification c, int reply) {
                if (writes.getAndIncrement() == 0) {
                    throw new IllegalStateException("boom");
                }
                super.write(source, queueId, recipient, c, reply);
            }
        };
        DefaultBounceProcessor p = new DefaultBounceProcessor(classifier, suppression, codec, flaky, null);
        String longLocal = "a".repeat(300);
        p.process(dsn("first@customer.com", longLocal + "@customer.com", "third@customer.com"),
                "x@bounces.example.com");
        flaky.sync().get(5, java.util.concurrent.TimeUnit.SECONDS);
        List<String> lines = Files.readAllLines(log);
        assertEquals(lines.toString(), 1, lines.size());
        assertTrue(lines.get(0), lines.get(0).contains("third@customer.com"));
        // signed: the failure on the first recipient's event does not stop suppression
        writes.set(0);
        p.process(dsn("first@customer.com", "second@customer.com"), codec.encode("Q4", "signed@example.org"));
        assertTrue(suppression.contains("signed@example.org"));
    }

    private void assertFast(String what, byte[] msg) {
        long t0 = System.nanoTime();
        BounceReport r = processor.analyse(msg, null);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertNotNull(r);
        assertTrue(what + " took " + ms + " ms", ms < 5000);
        t0 = System.nanoTime();
        processor.process(msg, "x@bounces.example.com");
        ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(what + " (process) took " + ms + " ms", ms < 5000);
    }

    @Test
    public void hostileMessagesAreAnalysedQuickly() {
        String head = "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\n";
        assertFast("100 KB single line", (head + "\r\n" + "a".repeat(100_000) + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        assertFast("100 KB of '<' in HTML", (head + "Content-Type: text/html\r\n\r\n" + "<".repeat(100_000)
                + "\r\n").getBytes(StandardCharsets.US_ASCII));
        assertFast("100 KB of '<script' in HTML", (head + "Content-Type: text/html\r\n\r\n"
                + "<script".repeat(15_000) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            many.append("user").append(i).append("@host").append(i % 50).append(".example.com\r\n");
        }
        assertFast("3000 addresses", (head + "\r\n" + many).getBytes(StandardCharsets.US_ASCII));
        String[] rcpts = new String[3000];
        for (int i = 0; i < rcpts.length; i++) {
            rcpts[i] = "user" + i + "@example.com";
        }
        byte[] bigDsn = dsn(rcpts);
        assertFast("DSN with 3000 recipients", bigDsn);
        assertTrue(processor.analyse(bigDsn, null).recipients().size() <= BounceAnalyzer.MAX_RECIPIENTS);
        assertFast("a@a@a@", (head + "\r\n" + "a@".repeat(50_000) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        assertFast("x.x.x", (head + "\r\n550 " + "x.".repeat(50_000) + " does not exist\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        assertFast("dashes", (head + "\r\n\r\n\r\n\r\n" + "-".repeat(100_000) + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        assertFast("continuations", (head + "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b.c\r\n"
                + "Action: failed\r\nDiagnostic-Code: smtp; 550\r\n" + " x\r\n".repeat(30_000))
                .getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    public void longDottedReplyClassifiesWithoutError() {
        String text = "550 " + "x.".repeat(4000) + "x does not exist";
        Classification c = classifier.classify(FailureInput.reply(550, null, text, "mx.example.com", "example.com"));
        assertNotNull(c);
        Classification d = classifier.classify(FailureInput.reply(550, null,
                "550 host mail.example.com does not exist", null, null));
        assertEquals("bad-domain", d.category());
    }

    @Test
    public void verpFitsSixtyFourCharactersOrIsRefused() {
        String rp = codec.encode("LXQ4K2ZA0001", "John.Smith@example.com");
        assertTrue(rp, rp.indexOf('@') <= 64);
        assertTrue("classic, readable VERP: " + rp, rp.startsWith("b-LXQ4K2ZA0001-john.smith=example.com-"));
        // an address the classic form cannot carry goes base32, and still round-trips
        String intl = codec.encode("LXQ4K2ZA0001", "j\u00f6rg@b\u00fc.de");
        assertEquals("j\u00f6rg@b\u00fc.de", codec.decode(intl).orElseThrow().recipient());
        // a forged recipient in the classic form fails the MAC
        assertEquals(Optional.empty(), codec.decode(rp.replace("john.smith=", "ceo=")));
        assertEquals(Optional.of(new ReturnPathCodec.Decoded("LXQ4K2ZA0001", "john.smith@example.com")),
                codec.decode(rp));
        try {
            codec.encode("LXQ4K2ZA0001", "a.very.long.recipient.name@subdomain.example.com");
            fail("over-long VERP local part accepted");
        } catch (IllegalArgumentException expected) {
            // delivery falls back to the original sender
        }
    }

    @Test
    public void verpDecodesWhenARelayChangesCase() {
        String rp = codec.encode("LXQ4K2ZA0001", "jane@example.org");
        Optional<ReturnPathCodec.Decoded> up = codec.decode(rp.toUpperCase(java.util.Locale.ROOT));
        assertTrue(up.isPresent());
        assertEquals("jane@example.org", up.get().recipient());
        assertTrue(codec.decode(rp.toLowerCase(java.util.Locale.ROOT)).isPresent());
        assertEquals(Optional.empty(), codec.decode(rp.toUpperCase(java.util.Locale.ROOT).replace("B-LXQ", "B-LXR")));
    }

    @Test
    public void suppressionListWithNonPositiveLimitIsEmpty() {
        suppression.add("a@example.com", "bad-mailbox", null);
        assertTrue(suppression.list(0).isEmpty());
        assertTrue(suppression.list(-1).isEmpty());
        assertEquals(1, suppression.list(5).size());
    }

    @Test
    public void eventLogReopensAfterRotation() throws Exception {
        BounceEventLog events = new BounceEventLog(log);
        Classification c = new Classification("bad-mailbox", true, "5.1.1",
                new Classification.Trace("builtin", "x", "m", List.of()));
        events.write("sync", "Q", "a@example.com", c, 550);
        events.sync().get(5, java.util.concurrent.TimeUnit.SECONDS);
        Files.move(log, log.resolveSibling("bounce-events.jsonl.1"));
        for (int i = 0; i < 200; i++) {
            events.write("sync", "Q", "b@example.com", c, 550);
        }
        events.sync().get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue("a new file under the configured name", Files.exists(log));
        assertTrue(Files.readAllLines(log).get(0).contains("b@example.com"));
        events.close();
    }
}
