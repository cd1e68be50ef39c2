package org.hermod.dkim.internal;

import static org.junit.Assert.assertEquals;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.List;

import org.junit.Test;

/**
 * RFC 8463 appendix A: the Ed25519 key of RFC 8032 section 7.1 (test 1), the example message and its Ed25519-SHA256
 * signature. Ed25519 is deterministic, so the signer must reproduce the RFC's b= value bit for bit.
 */
public class Rfc8463VectorTest {

    static final String SECRET = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    static final String PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    static final String MESSAGE = "From: Joe SixPack <joe@football.example.com>\r\n"
            + "To: Suzie Q <suzie@shopping.example.net>\r\n"
            + "Subject: Is dinner ready?\r\n"
            + "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            + "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
            + "\r\n"
            + "Hi.\r\n"
            + "\r\n"
            + "We lost the game.  Are you hungry yet?\r\n"
            + "\r\n"
            + "Joe.\r\n";
    /** The RFC's signature field, folded as printed there, with b= emptied. */
    static final String SIGNATURE_WITHOUT_B = "v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
            + " d=football.example.com; i=@football.example.com;\r\n"
            + " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
            + " subject : date : message-id : from : subject : date;\r\n"
            + " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
            + " b=";
    static final String B = "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";

    /** A PKCS#8 PEM for a raw 32-byte Ed25519 private key, as openssl writes it. */
    static String ed25519Pem(byte[] raw32) {
        byte[] prefix = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
        byte[] der = new byte[prefix.length + raw32.length];
        System.arraycopy(prefix, 0, der, 0, prefix.length);
        System.arraycopy(raw32, 0, der, prefix.length, raw32.length);
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n";
    }

    @Test
    public void reproducesTheRfcSignature() throws Exception {
        PrivateKey key = PemKeys.parse(ed25519Pem(Base64.getDecoder().decode(SECRET)), DkimAlgorithm.ED25519_SHA256);
        var in = HeaderSection.pushback(new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.US_ASCII)));
        List<RawHeader> headers = HeaderSection.read(in);
        assertEquals("2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=",
                Base64.getEncoder().encodeToString(RelaxedBodyDigest.of(in)));
        byte[] data = DkimSigner.headerData(headers,
                List.of("from", "to", "subject", "date", "message-id", "from", "subject", "date"), SIGNATURE_WITHOUT_B);
        assertEquals(B, Base64.getEncoder().encodeToString(DkimAlgorithm.ED25519_SHA256.sign(key, data)));
    }

    @Test
    public void derivesTheRfcPublicKeyRecord() throws Exception {
        PrivateKey key = PemKeys.parse(ed25519Pem(Base64.getDecoder().decode(SECRET)), DkimAlgorithm.ED25519_SHA256);
        assertEquals("v=DKIM1; k=ed25519; p=" + PUBLIC, PemKeys.dnsRecord(key, DkimAlgorithm.ED25519_SHA256));
    }
}
