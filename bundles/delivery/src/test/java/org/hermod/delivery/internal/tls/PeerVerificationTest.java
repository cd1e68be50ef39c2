package org.hermod.delivery.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.List;

import org.hermod.delivery.internal.testing.TestCerts;
import org.junit.BeforeClass;
import org.junit.Test;

/** PKIX and DANE checks of real certificate chains made by a test CA. */
public class PeerVerificationTest {

    private static TestCerts.Ca ca;
    private static TestCerts.Ca otherCa;
    private static TestCerts.Server mx;
    private static TestCerts.Server wildcard;

    @BeforeClass
    public static void certs() throws Exception {
        ca = TestCerts.ca("Hermod Test CA");
        otherCa = TestCerts.ca("Someone Else");
        mx = ca.issue("mx.a.test", "mx2.a.test");
        wildcard = ca.issue("*.b.test");
    }

    @Test
    public void pkixNeedsATrustedChainAndTheMxName() throws Exception {
        CertChecks trust = CertChecks.of(List.of(ca.cert()));
        assertNull(trust.pkix(mx.chain(), "mx.a.test"));
        assertNull(trust.pkix(mx.chain(), "MX2.a.test."));
        assertEquals("certificate-host-mismatch", trust.pkix(mx.chain(), "mx3.a.test").type());
        assertNull(trust.pkix(wildcard.chain(), "mail.b.test"));
        assertEquals("certificate-host-mismatch", trust.pkix(wildcard.chain(), "a.mail.b.test").type());
        // the leaf alone (no intermediate needed: the CA is the anchor) still validates
        assertNull(trust.pkix(new X509Certificate[] {mx.leaf()}, "mx.a.test"));
        CertChecks.Failure f = CertChecks.of(List.of(otherCa.cert())).pkix(mx.chain(), "mx.a.test");
        assertEquals("certificate-not-trusted", f.type());
    }

    @Test
    public void daneEeMatchesTheLeafWhateverItsNameOrIssuer() throws Exception {
        byte[] spki = mx.leaf().getPublicKey().getEncoded();
        byte[] cert = mx.leaf().getEncoded();
        for (Tlsa t : List.of(new Tlsa(3, 1, 1, sha("SHA-256", spki)), new Tlsa(3, 0, 0, cert),
                new Tlsa(3, 1, 2, sha("SHA-512", spki)), new Tlsa(3, 0, 1, sha("SHA-256", cert)))) {
            DaneVerifier.Result r = DaneVerifier.verify(mx.chain(), List.of(t), List.of("some.other.name"));
            assertTrue(t + ": " + r, r.ok());
            assertEquals("dane-ee", r.method());
        }
        // another key does not match; PKIX-EE (1) is not usable for SMTP even when it matches
        DaneVerifier.Result r = DaneVerifier.verify(mx.chain(),
                List.of(new Tlsa(3, 1, 1, sha("SHA-256", wildcard.leaf().getPublicKey().getEncoded()))),
                List.of("mx.a.test"));
        assertFalse(r.ok());
        assertEquals("validation-failure", r.failure().type());
        assertFalse(new Tlsa(1, 1, 1, sha("SHA-256", spki)).usable());
        assertFalse(new Tlsa(0, 0, 1, sha("SHA-256", ca.cert().getEncoded())).usable());
        assertFalse(new Tlsa(3, 2, 1, sha("SHA-256", spki)).usable());
        assertFalse(DaneVerifier.verify(mx.chain(), List.of(new Tlsa(1, 1, 1, sha("SHA-256", spki))),
                List.of("mx.a.test")).ok());
    }

    @Test
    public void daneTaNeedsTheChainToTheAnchorAndTheMxOrDomainName() throws Exception {
        Tlsa caHash = new Tlsa(2, 0, 1, sha("SHA-256", ca.cert().getEncoded()));
        DaneVerifier.Result r = DaneVerifier.verify(mx.chain(), List.of(caHash), List.of("mx.a.test", "a.test"));
        assertTrue(String.valueOf(r), r.ok());
        assertEquals("dane-ta", r.method());
        Tlsa caKey = new Tlsa(2, 1, 1, sha("SHA-256", ca.cert().getPublicKey().getEncoded()));
        assertTrue(DaneVerifier.verify(mx.chain(), List.of(caKey), List.of("mx.a.test")).ok());
        // the name is checked for DANE-TA
        r = DaneVerifier.verify(mx.chain(), List.of(caHash), List.of("mx.evil.test", "evil.test"));
        assertFalse(r.ok());
        assertTrue(r.failure().detail(), r.failure().detail().contains("does not name"));
        // an anchor that is not in the chain
        assertFalse(DaneVerifier.verify(mx.chain(), List.of(new Tlsa(2, 0, 1,
                sha("SHA-256", otherCa.cert().getEncoded()))), List.of("mx.a.test")).ok());
        // a chain that does not lead to the anchor: another CA's leaf presented with our CA appended
        TestCerts.Server foreign = otherCa.issue("mx.a.test");
        X509Certificate[] forged = {foreign.leaf(), ca.cert()};
        r = DaneVerifier.verify(forged, List.of(caHash), List.of("mx.a.test"));
        assertFalse(r.ok());
        assertTrue(r.failure().detail(), r.failure().detail().contains("chain to the TLSA trust anchor invalid"));
    }

    private static byte[] sha(String alg, byte[] data) throws Exception {
        return MessageDigest.getInstance(alg).digest(data);
    }
}
