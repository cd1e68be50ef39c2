package org.hermod.delivery.internal.smtp;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.hermod.api.delivery.DeliveryTls;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.Route;
import org.hermod.delivery.internal.testing.TestCerts;
import org.hermod.delivery.internal.testing.TestSmtpServer;
import org.hermod.delivery.internal.tls.CertChecks;
import org.hermod.delivery.internal.tls.HostTls;
import org.hermod.delivery.internal.tls.MtaSts;
import org.hermod.delivery.internal.tls.MtaStsPolicy;
import org.hermod.delivery.internal.tls.OutboundTls;
import org.hermod.delivery.internal.tls.Tlsa;
import org.hermod.delivery.internal.tls.TlsRequirement;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/** STARTTLS with peer checks against a real TLS server whose certificate comes from a test CA. */
public class SmtpClientTlsTest {

    private static SmtpClient client;
    private static TestCerts.Ca ca;
    private static TestCerts.Server mxCert;
    private static CertChecks trust;
    private TestSmtpServer server;

    @BeforeClass
    public static void setUpClass() throws Exception {
        client = new SmtpClient(1);
        ca = TestCerts.ca("Hermod Test CA");
        mxCert = ca.issue("mx.dest.test");
        trust = CertChecks.of(List.of(ca.cert()));
    }

    @AfterClass
    public static void stopClient() {
        client.close();
    }

    @Before
    public void setUp() throws Exception {
        server = new TestSmtpServer();
        server.tls = mxCert.context();
    }

    @After
    public void tearDown() throws Exception {
        server.close();
    }

    private SmtpClient.Connected connect(String mxName, HostTls ht) throws Exception {
        ConnectSettings cs = new ConnectSettings(server.port(), "client.test", "", Timeouts.uniform(Duration.ofSeconds(5)),
                TlsRequirement.uniform("dest.test", ht, trust));
        Route route = Route.of(List.of(new MxHost(mxName, 10, List.of(InetAddress.getByName("127.0.0.1")))), false);
        return client.connect(route, cs).get(15, TimeUnit.SECONDS);
    }

    private static final HostTls MAY = HostTls.simple(HostTls.Check.MAY, "may", "default");

    private static HostTls pkix(boolean enforce, String policy) {
        return new HostTls(HostTls.Check.PKIX, enforce, List.of(), policy, "map", "no-policy-found", null, null, null,
                null, null);
    }

    @Test
    public void verifyAcceptsATrustedCertificateForTheMxNameAndReportsTheSession() throws Exception {
        SmtpClient.Connected c = connect("mx.dest.test", pkix(true, "verify"));
        assertNull(String.valueOf(c.failure()), c.failure());
        DeliveryTls t = c.connection().tlsOutcome();
        assertTrue(c.connection().isTls());
        assertTrue(t.protocol(), t.protocol().startsWith("TLSv1."));
        assertTrue(t.cipher(), t.cipher().startsWith("TLS_"));
        assertTrue(t.verified());
        assertEquals("pkix", t.verification());
        assertEquals("verify", t.policy());
        assertNull(t.failure());
        c.connection().quit();
    }

    @Test
    public void verifyRefusesACertificateForAnotherNameWithout475AndSendsNothing() throws Exception {
        SmtpClient.Connected c = connect("other.dest.test", pkix(true, "verify"));
        assertNull(c.connection());
        assertEquals("4.7.5", c.failure().reply().enhancedStatus());
        assertTrue(c.failure().reply().text(), c.failure().reply().text().contains("does not name other.dest.test"));
        assertEquals("certificate-host-mismatch", c.failure().tls().failure());
        assertFalse(c.failure().tls().verified());
        assertEquals(1, server.connections.get()); // no plaintext retry
        assertFalse(server.commands.stream().anyMatch(s -> s.startsWith("MAIL")));
    }

    @Test
    public void testingModeDeliversDespiteAFailedCheckAndRecordsIt() throws Exception {
        SmtpClient.Connected c = connect("other.dest.test", pkix(false, "mta-sts-testing"));
        assertNull(c.failure());
        DeliveryTls t = c.connection().tlsOutcome();
        assertTrue(c.connection().isTls());
        assertFalse(t.verified());
        assertEquals("certificate-host-mismatch", t.failure());
        assertEquals("mta-sts-testing", t.policy());
        c.connection().quit();
        // testing mode without STARTTLS: plaintext, recorded
        server.tls = null;
        c = connect("mx.dest.test", pkix(false, "mta-sts-testing"));
        assertFalse(c.connection().isTls());
        assertEquals("starttls-not-supported", c.connection().tlsOutcome().failure());
        assertNull(c.connection().tlsOutcome().protocol());
        c.connection().quit();
    }

    @Test
    public void mtaStsEnforceSkipsMxHostsOutsideThePolicyWithoutConnecting() throws Exception {
        MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: *.dest.test\nmax_age: 3600\n");
        MtaSts.Result sts = new MtaSts.Result(p, "id1", null, null);
        HostTls outside = OutboundTls.stsHost("dest.test", "mx.elsewhere.test", sts, MAY);
        ConnectSettings cs = new ConnectSettings(server.port(), "client.test", "", Timeouts.uniform(Duration.ofSeconds(5)),
                new TlsRequirement("dest.test", Map.of("mx.elsewhere.test", outside), outside, null, null, trust));
        Route route = Route.of(List.of(new MxHost("mx.elsewhere.test", 10, List.of(InetAddress.getByName("127.0.0.1")))),
                false);
        SmtpClient.Connected c = client.connect(route, cs).get(15, TimeUnit.SECONDS);
        assertNull(c.connection());
        assertEquals("4.7.5", c.failure().reply().enhancedStatus());
        assertTrue(c.failure().reply().text(), c.failure().reply().text().contains("does not match the MTA-STS policy"));
        assertEquals("sts", c.failure().tls().policyType());
        assertEquals("mta-sts-enforce", c.failure().tls().policy());
        assertEquals(0, server.connections.get());
        // a matching host is PKIX-verified
        HostTls inside = OutboundTls.stsHost("dest.test", "mx.dest.test", sts, MAY);
        SmtpClient.Connected ok = connect("mx.dest.test", inside);
        assertEquals("pkix", ok.connection().tlsOutcome().verification());
        assertEquals("id1", ok.connection().tlsOutcome().policyId());
        ok.connection().quit();
    }

    @Test
    public void daneEeAuthenticatesByTheTlsaRecordAndAMismatchDefersWithoutPlaintext() throws Exception {
        byte[] spki = MessageDigest.getInstance("SHA-256").digest(mxCert.leaf().getPublicKey().getEncoded());
        HostTls dane = new HostTls(HostTls.Check.DANE, true, List.of(new Tlsa(3, 1, 1, spki)), "dane", "dane", "tlsa",
                null, null, null, null, null);
        // DANE-EE ignores the name: the MX is called something else
        SmtpClient.Connected c = connect("mx.renamed.test", dane);
        assertEquals("dane-ee", c.connection().tlsOutcome().verification());
        assertTrue(c.connection().tlsOutcome().verified());
        assertEquals("tlsa", c.connection().tlsOutcome().policyType());
        c.connection().quit();
        spki[0] ^= 1;
        HostTls wrong = new HostTls(HostTls.Check.DANE, true, List.of(new Tlsa(3, 1, 1, spki)), "dane", "dane", "tlsa",
                null, null, null, null, null);
        int before = server.connections.get();
        c = connect("mx.dest.test", wrong);
        assertNull(c.connection());
        assertEquals("4.7.5", c.failure().reply().enhancedStatus());
        assertEquals("validation-failure", c.failure().tls().failure());
        assertEquals(before + 1, server.connections.get());
        // and a DANE host that does not offer STARTTLS is not sent to in plaintext
        server.tls = null;
        c = connect("mx.dest.test", dane);
        assertNull(c.connection());
        assertEquals("starttls-not-supported", c.failure().tls().failure());
    }

    @Test
    public void aReplyPipelinedBehindThe220ToStarttlsFailsTheConnectionAndIsNeverReadAsTls() throws Exception {
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
            java.util.List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread fake = new Thread(() -> {
                while (!ss.isClosed()) {
                    try (java.net.Socket s = ss.accept()) {
                        accepted.incrementAndGet();
                        var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                                java.nio.charset.StandardCharsets.US_ASCII));
                        var out = s.getOutputStream();
                        out.write("220 fake ESMTP\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        String line;
                        while ((line = in.readLine()) != null) {
                            received.add(line);
                            String reply = line.startsWith("EHLO") ? "250-fake\r\n250 STARTTLS\r\n"
                                    : line.equals("STARTTLS") ? "220 ready\r\n250 injected\r\n" // one write
                                    : line.equals("QUIT") ? "221 bye\r\n" : "250 ok\r\n";
                            out.write(reply.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                            out.flush();
                        }
                    } catch (java.io.IOException e) {
                        // next connection, or closed
                    }
                }
            });
            fake.setDaemon(true);
            fake.start();
            ConnectSettings cs = new ConnectSettings(ss.getLocalPort(), "client.test", "",
                    Timeouts.uniform(Duration.ofSeconds(5)), TlsRequirement.uniform("dest.test",
                            pkix(true, "verify"), trust));
            Route route = Route.of(List.of(new MxHost("mx.dest.test", 10, List.of(InetAddress.getByName("127.0.0.1")))),
                    false);
            SmtpClient.Connected c = client.connect(route, cs).get(15, TimeUnit.SECONDS);
            assertNull(c.connection());
            assertEquals("4.7.0", c.failure().reply().enhancedStatus());
            assertTrue(c.failure().reply().text(), c.failure().reply().text().contains("STARTTLS response pipelined"));
            assertEquals(1, accepted.get()); // required TLS: no plaintext retry
            assertFalse(received.stream().anyMatch(l -> l.startsWith("MAIL")));
        }
    }

    @Test
    public void aConnectionMeetsOnlyRequirementsItsTlsAndVerificationSatisfy() throws Exception {
        TlsRequirement verifyDest = TlsRequirement.uniform("dest.test", pkix(true, "verify"), trust);
        SmtpClient.Connected v = connect("mx.dest.test", pkix(true, "verify"));
        assertTrue(v.connection().meets(verifyDest));
        assertTrue(v.connection().meets(TlsRequirement.uniform("dest.test", MAY, trust)));
        // verified for dest.test, not for another destination sharing the host
        assertFalse(v.connection().meets(TlsRequirement.uniform("other.test", pkix(true, "verify"), trust)));
        v.connection().quit();
        // testing mode: encrypted but not verified, so not for an enforce policy (testing -> enforce)
        SmtpClient.Connected testing = connect("other.dest.test", pkix(false, "mta-sts-testing"));
        assertTrue(testing.connection().meets(TlsRequirement.uniform("dest.test", pkix(false, "mta-sts-testing"), trust)));
        assertFalse(testing.connection().meets(TlsRequirement.uniform("dest.test", pkix(true, "mta-sts-enforce"), trust)));
        testing.connection().quit();
        // plaintext (may, no STARTTLS offered): not for a destination that requires TLS
        server.tls = null;
        SmtpClient.Connected plain = connect("mx.dest.test", MAY);
        assertFalse(plain.connection().isTls());
        assertTrue(plain.connection().meets(TlsRequirement.uniform("dest.test", MAY, trust)));
        assertFalse(plain.connection().meets(TlsRequirement.uniform("dest.test",
                HostTls.simple(HostTls.Check.ENCRYPT, "encrypt", "map"), trust)));
        plain.connection().quit();
    }
}
