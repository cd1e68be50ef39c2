package org.hermod.dkim.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;
import java.util.Map;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.SessionInfo;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Signs messages as the filter does and has dkimpy (not the signer) verify them: both algorithms, two signatures on
 * one message, folded and 8-bit headers and bodies, List-Unsubscribe; and checks that the verifier does fail when the
 * message is changed after signing (a body edit, an added From:), that foreign domains and untrusted clients are not
 * signed, and that an unusable key defers.
 */
public class MessageSignerTest {

    private static Path dir;
    private static KeyPair rsa;
    private static KeyPair ed;
    private static Map<String, String> dns;

    static final String MESSAGE = "Received: from client.example.org by mta.example.com; Wed, 2 Dec 2026 06:00:00 +0000\n"
            + "From: \"Ann (sales)\" <ann@example.com>\n"
            + "To: bob@elsewhere.test,\n"
            + "\tcarol@elsewhere.test\n"
            + "Subject:   Caf\u00e9  prices,\n"
            + "   folded   twice\n"
            + "Date: Wed, 2 Dec 2026 06:00:00 +0000\n"
            + "Message-ID: <1@example.com>\n"
            + "MIME-Version: 1.0\n"
            + "Content-Type: text/plain; charset=ISO-8859-1\n"
            + "Content-Transfer-Encoding: 8bit\n"
            + "List-Unsubscribe: <https://example.com/u/1>, <mailto:u-1@example.com>\n"
            + "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
            + "X-Mailer: test\n"
            + "\n"
            + "Bonjour,  \n"
            + "\tle caf\u00e9 co\u00fbte    2 EUR.\n"
            + "\n"
            + "..leading dot stays as stored\n"
            + "\n"
            + "\n";

    @BeforeClass
    public static void keys() throws Exception {
        dir = Files.createTempDirectory("dkim-test");
        rsa = TestKeys.rsa();
        ed = TestKeys.ed25519();
        TestKeys.write(rsa, dir.resolve("rsa.pem"));
        TestKeys.write(ed, dir.resolve("ed.pem"));
        dns = Map.of("r2026._domainkey.example.com", TestKeys.record(rsa),
                "e2026._domainkey.example.com", TestKeys.record(ed));
    }

    @AfterClass
    public static void cleanUp() throws Exception {
        try (var s = Files.walk(dir)) {
            s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }

    static MessageSigner signer(String signatures, boolean defer, boolean fallback) {
        KeyRing ring = new KeyRing();
        ring.configure(SignatureEntry.parse(signatures, dir));
        return new MessageSigner(ring, HeaderPolicy.defaults(),
                SigningClients.parse("authenticated, 127.0.0.0/8, ::1"), fallback, 3600, defer);
    }

    static final String BOTH = "example.com r2026 rsa-sha256 rsa.pem; example.com e2026 ed25519-sha256 ed.pem";
    static final SessionInfo TRUSTED = new SessionInfo("s1", "127.0.0.1", "client.example.org", null, false,
            "default");

    static Envelope envelope(String from) {
        return Envelope.local(MailAddress.parse(from), List.of(new Recipient(MailAddress.parse("bob@elsewhere.test"),
                null, null)), Envelope.BodyType.EIGHT_BIT_MIME);
    }

    private static FilterDecision sign(MessageSigner s, TestMessage m) throws Exception {
        return s.sign(TRUSTED, envelope("ann@example.com"), m, System.currentTimeMillis() / 1000);
    }

    @Test
    public void bothAlgorithmsVerifyWithDkimpy() throws Exception {
        TestMessage m = TestMessage.of(MESSAGE);
        FilterDecision d = sign(signer(BOTH, true, false), m);
        assertEquals(FilterDecision.Action.CONTINUE, d.action());
        assertEquals(2, d.headersAdded().size());
        List<String> result = Dkimpy.verify(m.withAdded(d), dns);
        assertEquals(result.toString(), 2, result.size());
        assertTrue(result.toString(), result.stream().allMatch(l -> l.contains(": pass ")));
        assertTrue(result.toString(), result.stream().anyMatch(l -> l.contains("a=rsa-sha256 d=example.com s=r2026")));
        assertTrue(result.toString(),
                result.stream().anyMatch(l -> l.contains("a=ed25519-sha256 d=example.com s=e2026")));
    }

    @Test
    public void signatureTagsAndSignedHeaderSet() throws Exception {
        FilterDecision d = sign(signer("example.com e2026 ed25519-sha256 ed.pem", true, false),
                TestMessage.of(MESSAGE));
        HeaderField f = d.headersAdded().get(0);
        assertEquals("DKIM-Signature", f.name());
        String v = f.value();
        assertTrue(v, v.startsWith("v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=e2026; t="));
        long t = Long.parseLong(v.replaceAll(".*; t=(\\d+);.*", "$1"));
        long x = Long.parseLong(v.replaceAll(".*; x=(\\d+);.*", "$1"));
        assertEquals(3600, x - t);
        assertTrue(Math.abs(System.currentTimeMillis() / 1000 - t) < 60);
        assertEquals("from:from:to:to:subject:subject:date:date:message-id:message-id:mime-version:content-type:"
                + "content-transfer-encoding:list-unsubscribe:list-unsubscribe:list-unsubscribe-post:"
                + "list-unsubscribe-post", v.replaceAll(".*; h=([^;]*);.*", "$1"));
        assertTrue("unlisted fields are not signed", !v.contains("x-mailer") && !v.contains("received"));
    }

    @Test
    public void changesAfterSigningFailVerification() throws Exception {
        TestMessage m = TestMessage.of(MESSAGE);
        byte[] signed = m.withAdded(sign(signer(BOTH, true, false), m));
        String s = new String(signed, StandardCharsets.ISO_8859_1);

        byte[] body = s.replace("2 EUR", "3 EUR").getBytes(StandardCharsets.ISO_8859_1);
        assertTrue(Dkimpy.verify(body, dns).stream().allMatch(l -> l.contains(": fail ")));

        // a second From: added above the signed one: the over-signed From catches it
        byte[] from = s.replace("Received:", "From: ceo@example.com\r\nReceived:")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertTrue(Dkimpy.verify(from, dns).stream().allMatch(l -> l.contains(": fail ")));

        // a second List-Unsubscribe added below (RFC 8058 one-click to an attacker's URL)
        byte[] unsub = s.replace("X-Mailer:", "List-Unsubscribe: <https://evil.test/>\r\nX-Mailer:")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertTrue(Dkimpy.verify(unsub, dns).stream().allMatch(l -> l.contains(": fail ")));

        // white space changes that relaxed canonicalisation allows still pass
        byte[] refolded = s.replace("Subject:   Caf\u00e9  prices,\r\n   folded", "Subject: Caf\u00e9 prices, folded")
                .replace("Bonjour,  \r\n", "Bonjour,\r\n").getBytes(StandardCharsets.ISO_8859_1);
        assertTrue(Dkimpy.verify(refolded, dns).stream().allMatch(l -> l.contains(": pass ")));
    }

    @Test
    public void subdomainsUseTheirParentsKeysAndOtherDomainsAreNotSigned() throws Exception {
        MessageSigner s = signer(BOTH, true, false);
        TestMessage sub = TestMessage.of(MESSAGE.replace("ann@example.com", "ann@news.example.com"));
        FilterDecision d = sign(s, sub);
        assertEquals(2, d.headersAdded().size());
        assertTrue(d.headersAdded().get(0).value().contains("; d=example.com;"));
        assertTrue(Dkimpy.verify(sub.withAdded(d), dns).stream().allMatch(l -> l.contains(": pass ")));

        FilterDecision other = sign(s, TestMessage.of(MESSAGE.replace("ann@example.com", "ann@example.org")));
        assertEquals(FilterDecision.proceed(), other);
        FilterDecision lookalike = sign(s, TestMessage.of(MESSAGE.replace("ann@example.com", "ann@badexample.com")));
        assertEquals(FilterDecision.proceed(), lookalike);
    }

    @Test
    public void envelopeSenderFallbackOnlyWhenConfigured() throws Exception {
        TestMessage m = TestMessage.of(MESSAGE.replace("ann@example.com", "ann@example.org"));
        SessionInfo auth = new SessionInfo("s2", "198.51.100.7", "x", "ann", true, "submission");
        assertEquals(FilterDecision.proceed(),
                signer(BOTH, true, false).sign(auth, envelope("bounce@example.com"), m, 1_800_000_000L));
        FilterDecision d = signer(BOTH, true, true).sign(auth, envelope("bounce@example.com"), m, 1_800_000_000L);
        assertEquals(2, d.headersAdded().size());
        assertTrue(d.headersAdded().get(0).value().contains("; d=example.com;"));
    }

    @Test
    public void mailFromUntrustedClientsIsNotSigned() throws Exception {
        SessionInfo internet = new SessionInfo("s3", "203.0.113.9", "spoofer.test", null, false, "default");
        assertEquals(FilterDecision.proceed(), signer(BOTH, true, false).sign(internet, envelope("ann@example.com"),
                TestMessage.of(MESSAGE), 1_800_000_000L));
        SessionInfo dsn = SessionInfo.local("dsn-1");
        assertEquals(2, signer(BOTH, true, false).sign(dsn, envelope("ann@example.com"), TestMessage.of(MESSAGE),
                1_800_000_000L).headersAdded().size());
    }

    @Test
    public void anUnusableKeyDefersOrPassesUnsignedAsConfigured() throws Exception {
        String withMissing = BOTH + "; example.com gone ed25519-sha256 missing.pem";
        FilterDecision d = sign(signer(withMissing, true, false), TestMessage.of(MESSAGE));
        assertEquals(FilterDecision.Action.DEFER, d.action());
        assertEquals(451, d.reply().code());
        assertEquals("4.3.0", d.reply().enhancedStatus());

        FilterDecision u = sign(signer(withMissing, false, false), TestMessage.of(MESSAGE));
        assertEquals(FilterDecision.Action.CONTINUE, u.action());
        assertEquals("the two working keys still sign", 2, u.headersAdded().size());

        Files.writeString(dir.resolve("wrongtype.pem"), Files.readString(dir.resolve("rsa.pem")));
        FilterDecision w = sign(signer("example.com e ed25519-sha256 wrongtype.pem", true, false),
                TestMessage.of(MESSAGE));
        assertEquals("an RSA key configured as Ed25519 is unusable", FilterDecision.Action.DEFER, w.action());
    }

    @Test
    public void aSignatureFieldOverTheLineLimitIsASigningFailure() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
        g.initialize(4096);
        TestKeys.write(g.generateKeyPair(), dir.resolve("rsa4096.pem"));
        String many = MESSAGE.replace("X-Mailer: test\n", "Cc: dan@elsewhere.test\nReply-To: sales@example.com\n"
                + "In-Reply-To: <0@example.com>\nReferences: <0@example.com>\nList-Id: <news.example.com>\n");
        String entry = "example.com a-rather-long-selector-2026 rsa-sha256 rsa4096.pem";
        FilterDecision d = sign(signer(entry, true, false), TestMessage.of(many));
        assertEquals(FilterDecision.Action.DEFER, d.action());
        FilterDecision u = sign(signer(entry, false, false), TestMessage.of(many));
        assertEquals(FilterDecision.proceed(), u);
        FilterDecision fewer = sign(signer(entry, true, false), TestMessage.of("From: ann@example.com\n\nhi\n"));
        assertEquals("with few fields a 4096-bit signature fits", 1, fewer.headersAdded().size());
        assertTrue(DkimSigner.FIELD.length() + 2 + fewer.headersAdded().get(0).value().length() <= 998);
    }

    @Test
    public void aLargeBodyWithWhiteSpaceAcrossBufferBoundariesVerifies() throws Exception {
        StringBuilder body = new StringBuilder();
        java.util.Random r = new java.util.Random(42);
        String[] pieces = {"word", " ", "\t", "  \t ", "\r\n", "\r\n\r\n", "\r", "\u00e9", "x \r\n"};
        while (body.length() < 300_000) {
            body.append(pieces[r.nextInt(pieces.length)]);
        }
        TestMessage m = new TestMessage(("From: ann@example.com\r\nSubject: large\r\n\r\n" + body + "\r\n \r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        FilterDecision d = sign(signer(BOTH, true, false), m);
        assertTrue(Dkimpy.verify(m.withAdded(d), dns).stream().allMatch(l -> l.contains(": pass ")));
    }

    @Test
    public void messageWithoutBodyAndWithoutFromStillSigns() throws Exception {
        TestMessage m = TestMessage.of("Subject: no from, no body\n");
        FilterDecision none = signer(BOTH, true, false).sign(TRUSTED, envelope("ann@example.com"), m, 1_800_000_000L);
        assertEquals("no From: domain and no fallback: nothing to sign for", FilterDecision.proceed(), none);
        FilterDecision d = signer(BOTH, true, true).sign(TRUSTED, envelope("ann@example.com"), m,
                System.currentTimeMillis() / 1000);
        assertNull(d.reply());
        assertTrue(Dkimpy.verify(m.withAdded(d), dns).stream().allMatch(l -> l.contains(": pass ")));
    }
}
