package org.hermod.dkim.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import org.junit.Test;

/** Relaxed canonicalisation (RFC 6376 section 3.4.2, 3.4.4) against the RFC's examples and known hashes. */
public class CanonicalisationTest {

    private static String bh(String body) throws IOException {
        return Base64.getEncoder().encodeToString(
                RelaxedBodyDigest.of(new ByteArrayInputStream(body.getBytes(StandardCharsets.ISO_8859_1))));
    }

    @Test
    public void rfc6376Section345Example() throws IOException {
        List<RawHeader> h = HeaderSection.read(HeaderSection.pushback(new ByteArrayInputStream(
                "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n".getBytes(StandardCharsets.US_ASCII))));
        assertEquals(2, h.size());
        assertEquals("a:X\r\n", new String(Relaxed.header(h.get(0)), StandardCharsets.US_ASCII));
        assertEquals("b:Y Z\r\n", new String(Relaxed.header(h.get(1)), StandardCharsets.US_ASCII));
        // the body " C \r\nD \t E\r\n\r\n\r\n" canonicalises to " C\r\nD E\r\n"
        assertEquals(bh(" C\r\nD E\r\n"), bh(" C \r\nD \t E\r\n\r\n\r\n"));
        assertNotEquals("leading white space stays (as one space)", bh("C\r\nD E\r\n"), bh(" C \r\nD \t E\r\n"));
    }

    @Test
    public void rfc6376AndRfc8463BodyHash() throws IOException {
        // the example message body of RFC 6376 appendix A / RFC 8463 appendix A.2; its relaxed hash is RFC 8463's bh=
        String body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
        assertEquals("2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=", bh(body));
        assertEquals("trailing empty lines do not count", bh(body), bh(body + "\r\n\r\n \r\n"));
    }

    @Test
    public void emptyBodyAndMissingFinalCrlf() throws IOException {
        assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bh("")); // SHA-256 of nothing
        assertEquals(bh(""), bh("\r\n\r\n"));
        assertEquals(bh("Joe.\r\n"), bh("Joe."));
        assertEquals(bh("Joe.\r\n"), bh("Joe.  \t"));
    }

    @Test
    public void onlyCrlfEndsALine() throws IOException {
        assertNotEquals(bh("a\r\nb\r\n"), bh("a\nb\r\n"));
        assertNotEquals(bh("a\r\nb\r\n"), bh("a\rb\r\n"));
        assertEquals(bh("a\r\r\n"), bh("a\r \r\n")); // a bare CR is content, trailing space after it goes
    }

    @Test
    public void streamingInAnyChunksGivesTheSameHash() {
        byte[] body = "x  y \t\r\n\r\n  z\r\r\n\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        RelaxedBodyDigest whole = new RelaxedBodyDigest();
        whole.update(body, 0, body.length);
        byte[] expected = whole.finish();
        for (int chunk = 1; chunk < body.length; chunk++) {
            RelaxedBodyDigest d = new RelaxedBodyDigest();
            for (int i = 0; i < body.length; i += chunk) {
                d.update(body, i, Math.min(chunk, body.length - i));
            }
            assertEquals("chunk " + chunk, Base64.getEncoder().encodeToString(expected),
                    Base64.getEncoder().encodeToString(d.finish()));
        }
    }

    @Test
    public void eightBitHeaderBytesPassUnchanged() {
        byte[] raw = "Subject:  caf\u00e9 \r\n  ol\u00e9".getBytes(StandardCharsets.ISO_8859_1);
        byte[] c = Relaxed.header(new RawHeader("Subject", raw));
        assertEquals("subject:caf\u00e9 ol\u00e9\r\n", new String(c, StandardCharsets.ISO_8859_1));
    }

    @Test
    public void headerSectionEndsAtALineWithoutColon() throws IOException {
        var in = HeaderSection.pushback(new ByteArrayInputStream(
                "From: a@b.example\r\nnot a header\r\nmore\r\n".getBytes(StandardCharsets.US_ASCII)));
        List<RawHeader> h = HeaderSection.read(in);
        assertEquals(1, h.size());
        assertEquals("not a header\r\nmore\r\n", new String(in.readAllBytes(), StandardCharsets.US_ASCII));
    }
}
