package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.inject.Inject;

import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.delivery.DeliveryListener;
import org.hermod.api.delivery.DeliveryTls;
import org.hermod.api.spool.QueueManager;
import org.hermod.api.spool.RecipientResult;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Outbound TLS policy in the real distribution (ADR 0011), against real peers on loopback: BIND's named serving an
 * unsigned zone (MTA-STS domains) and a DNSSEC-signed one (DANE domains, its key-signing key as Hermod's trust anchor),
 * a Python HTTPS server publishing MTA-STS policies with a certificate from a test CA (Hermod's {@code tls.trustStore}),
 * and SMTP sinks with and without STARTTLS. Default policy {@code auto}: DANE where TLSA records exist, else MTA-STS.
 *
 * <p>Loopback addresses: 127.0.0.1 STARTTLS sink with a CA-signed certificate for the MTA-STS MX names (and the web
 * server on the HTTPS port); 127.0.0.6 a sink without STARTTLS; 127.0.0.7 STARTTLS sink with a self-signed certificate
 * that only its TLSA record vouches for.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OutboundTlsIT {

    private static final String PID = "org.hermod.delivery";
    private static boolean started;
    private static StartTlsSink caSink;
    private static StartTlsSink plainSink;
    private static StartTlsSink daneSink;
    private static MtaStsWebServer web;
    private static final List<DeliveryEvent> events = new CopyOnWriteArrayList<>();

    @Inject
    QueueManager queues;

    @Inject
    ConfigurationAdmin configAdmin;

    @Inject
    BundleContext context;

    /**
     * Runs in the test driver: makes the certificates, the signed zone and the policies under target/outbound-tls (the
     * container reads them from the paths in its configuration) and points delivery at them.
     */
    @org.ops4j.pax.exam.Configuration
    public Option[] config() throws Exception {
        int smtp = HermodKaraf.freePort();
        int dns = HermodKaraf.freePort();
        int mx = HermodKaraf.freePort();
        int https = HermodKaraf.freePort();
        Path dir = Paths.get("target", "outbound-tls").toAbsolutePath();
        if (Files.exists(dir)) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        PemCerts certs = new PemCerts(dir.resolve("certs"), true);
        certs.issue("mx", "mx.enforce.sts.test", "mx.wrongmx.sts.test");
        certs.issue("web", "mta-sts.enforce.sts.test", "mta-sts.wrongmx.sts.test", "mta-sts.notls.sts.test",
                "mta-sts.testing.sts.test", "mta-sts.override.sts.test", "mta-sts.dane.test");
        String tlsa = certs.selfSigned("dane", "some-name.invalid").spkiSha256();
        Map<String, String> zones = new LinkedHashMap<>();
        StringBuilder sts = new StringBuilder();
        for (String[] d : new String[][] {{"enforce", "127.0.0.1"}, {"wrongmx", "127.0.0.1"}, {"notls", "127.0.0.6"},
                {"testing", "127.0.0.6"}, {"override", "127.0.0.1"}}) {
            sts.append(d[0]).append(" IN MX 10 mx.").append(d[0]).append(".sts.test.\n")
                    .append("mx.").append(d[0]).append(" IN A ").append(d[1]).append('\n')
                    .append("_mta-sts.").append(d[0]).append(" IN TXT \"v=STSv1; id=").append(d[0]).append("1\"\n")
                    .append("mta-sts.").append(d[0]).append(" IN A 127.0.0.1\n");
        }
        zones.put("sts.test", sts.toString());
        zones.put("dane.test", "@ IN MX 10 mx.dane.test.\nmx IN A 127.0.0.7\n_25._tcp.mx IN TLSA 3 1 1 " + tlsa + "\n"
                + "_mta-sts IN TXT \"v=STSv1; id=dane1\"\nmta-sts IN A 127.0.0.1\n"
                + "bad IN MX 10 mx.bad.dane.test.\nmx.bad IN A 127.0.0.7\n_25._tcp.mx.bad IN TLSA 3 1 1 "
                + "00".repeat(32) + "\n");
        Path anchors = Bind9.prepare(dir.resolve("dns"), dns, zones, List.of("dane.test"));
        Path webDir = dir.resolve("web");
        Files.createDirectories(webDir);
        writePolicy(webDir, "enforce.sts.test", "enforce", "mx.enforce.sts.test");
        writePolicy(webDir, "wrongmx.sts.test", "enforce", "mail.wrongmx.sts.test");
        writePolicy(webDir, "notls.sts.test", "enforce", "*.notls.sts.test");
        writePolicy(webDir, "testing.sts.test", "testing", "*.elsewhere.test");
        writePolicy(webDir, "override.sts.test", "enforce", "mail.override.sts.test");
        // a policy that would refuse dane.test's MX: DANE takes precedence where TLSA records exist
        writePolicy(webDir, "dane.test", "enforce", "nomatch.dane.test");
        String d = "etc/" + PID + ".cfg";
        return HermodKaraf.options(smtp,
                editConfigurationFilePut(d, "dnsServers", "127.0.0.1:" + dns),
                editConfigurationFilePut(d, "smtpPort", String.valueOf(mx)),
                editConfigurationFilePut(d, "retryInitial", "2s"),
                editConfigurationFilePut(d, "retryMax", "3s"),
                editConfigurationFilePut(d, "connectTimeout", "3s"),
                editConfigurationFilePut(d, "heloName", "hermod.test"),
                editConfigurationFilePut(d, "tls.defaultPolicy", "auto"),
                editConfigurationFilePut(d, "tls.trustStore", certs.ca().toString()),
                editConfigurationFilePut(d, "dane.trustAnchors", anchors.toString()),
                editConfigurationFilePut(d, "mtaSts.httpsPort", String.valueOf(https)),
                editConfigurationFilePut(d, "mtaSts.timeout", "3s"));
    }

    private static void writePolicy(Path webDir, String domain, String mode, String mx) throws Exception {
        Files.writeString(webDir.resolve("mta-sts." + domain + ".txt"),
                "version: STSv1\r\nmode: " + mode + "\r\nmx: " + mx + "\r\nmax_age: 86400\r\n");
    }

    private String prop(String key) throws Exception {
        return String.valueOf(configAdmin.getConfiguration(PID, null).getProperties().get(key));
    }

    private int port(String key) throws Exception {
        String v = prop(key);
        return Integer.parseInt(v.substring(v.lastIndexOf(':') + 1).trim());
    }

    /** Runs in the container: starts the peers on the files the driver made. */
    @Before
    public void startPeers() throws Exception {
        synchronized (OutboundTlsIT.class) {
            if (started) {
                return;
            }
            Path dir = Paths.get(prop("tls.trustStore")).getParent().getParent();
            int mx = port("smtpPort");
            Bind9 named = new Bind9(dir.resolve("dns"), port("dnsServers"), "dane.test");
            PemCerts certs = new PemCerts(dir.resolve("certs"), false);
            web = new MtaStsWebServer(dir.resolve("web"), port("mtaSts.httpsPort"), certs.pair("web"));
            caSink = new StartTlsSink("127.0.0.1", mx, certs.pair("mx").serverContext());
            plainSink = new StartTlsSink("127.0.0.6", mx, null);
            daneSink = new StartTlsSink("127.0.0.7", mx, certs.pair("dane").serverContext());
            context.registerService(DeliveryListener.class, events::add, null);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                named.close();
                web.close();
            }));
            started = true;
        }
    }

    @Test
    public void enforceModeDeliversToAMatchingMxWithAValidCertificate() throws Exception {
        String id = submit("enforce@enforce.sts.test");
        StartTlsSink.Received r = Await.value("the STARTTLS sink got the message", 60,
                () -> caSink.messageFor("enforce@enforce.sts.test"));
        assertTrue("delivered over TLS", r.tls());
        assertEquals("the MX host name was sent as SNI", "mx.enforce.sts.test", r.sni());
        Await.until("message left the queue", 20, () -> !queued(id));
        DeliveryTls tls = event("enforce@enforce.sts.test", RecipientResult.Status.DELIVERED).tls();
        assertTrue(tls.protocol(), tls.protocol().startsWith("TLSv1."));
        assertNotNull(tls.cipher());
        assertTrue(tls.verified());
        assertEquals("pkix", tls.verification());
        assertEquals("mta-sts-enforce", tls.policy());
        assertEquals("sts", tls.policyType());
        assertEquals("enforce1", tls.policyId());
        assertNull(tls.failure());
        assertTrue(web.fetches().contains("mta-sts.enforce.sts.test"));
        String line = accountingLine(id, "DELIVERED");
        assertTrue(line, line.contains("\"tlsVerification\":\"pkix\"") && line.contains("\"tlsPolicy\":\"mta-sts-enforce\"")
                && line.contains("\"tlsProtocol\":\"TLSv1."));
    }

    @Test
    public void enforceModeRefusesAnMxOutsideThePolicyAndTheMailStaysDeferred() throws Exception {
        String id = submit("wrong@wrongmx.sts.test");
        DeliveryEvent e = Await.value("a deferral", 60, () -> find("wrong@wrongmx.sts.test", RecipientResult.Status.DEFERRED));
        assertTrue(e.reply().toString(), e.reply().toString().startsWith("451 4.7.5")
                && e.reply().toString().contains("does not match the MTA-STS policy of wrongmx.sts.test"));
        assertEquals("validation-failure", e.tls().failure());
        assertEquals("mta-sts-enforce", e.tls().policy());
        assertTrue("still queued", queued(id));
        assertNull("nothing reached the MX", caSink.messageFor("wrong@wrongmx.sts.test"));
    }

    @Test
    public void enforceModeRefusesAnMxWithoutStartTls() throws Exception {
        String id = submit("plain@notls.sts.test");
        DeliveryEvent e = Await.value("a deferral", 60, () -> find("plain@notls.sts.test", RecipientResult.Status.DEFERRED));
        assertTrue(e.reply().toString(), e.reply().toString().startsWith("451 4.7.5")
                && e.reply().toString().contains("did not offer STARTTLS"));
        assertEquals("starttls-not-supported", e.tls().failure());
        assertTrue(queued(id));
        assertNull(plainSink.messageFor("plain@notls.sts.test"));
        String line = accountingLine(id, "DEFERRED");
        assertTrue(line, line.contains("\"tlsFailure\":\"starttls-not-supported\""));
    }

    @Test
    public void testingModeDeliversAnywayAndRecordsTheFailure() throws Exception {
        String id = submit("t@testing.sts.test");
        StartTlsSink.Received r = Await.value("delivered in plaintext", 60, () -> plainSink.messageFor("t@testing.sts.test"));
        assertFalse(r.tls());
        Await.until("message left the queue", 20, () -> !queued(id));
        DeliveryTls tls = event("t@testing.sts.test", RecipientResult.Status.DELIVERED).tls();
        assertEquals("mta-sts-testing", tls.policy());
        assertEquals("testing1", tls.policyId());
        assertFalse(tls.verified());
        assertNull(tls.protocol());
        assertNotNull("the failure is recorded", tls.failure());
        assertTrue(tls.failureDetail(), tls.failure().equals("starttls-not-supported")
                || tls.failure().equals("validation-failure"));
    }

    @Test
    public void daneAuthenticatesASelfSignedCertificateByItsSignedTlsaRecordAndTakesPrecedenceOverMtaSts()
            throws Exception {
        String id = submit("d@dane.test");
        StartTlsSink.Received r = Await.value("the DANE sink got the message", 60, () -> daneSink.messageFor("d@dane.test"));
        assertTrue(r.tls());
        Await.until("message left the queue", 20, () -> !queued(id));
        DeliveryTls tls = event("d@dane.test", RecipientResult.Status.DELIVERED).tls();
        assertTrue(tls.verified());
        assertEquals("dane-ee", tls.verification());
        assertEquals("dane", tls.policy());
        assertEquals("tlsa", tls.policyType());
    }

    @Test
    public void aTlsaMismatchDefersInsteadOfDeliveringInClear() throws Exception {
        String id = submit("x@bad.dane.test");
        DeliveryEvent e = Await.value("a deferral", 60, () -> find("x@bad.dane.test", RecipientResult.Status.DEFERRED));
        assertTrue(e.reply().toString(), e.reply().toString().startsWith("451 4.7.5"));
        assertEquals("validation-failure", e.tls().failure());
        assertEquals("dane", e.tls().policy());
        assertTrue(queued(id));
        assertNull(daneSink.messageFor("x@bad.dane.test"));
    }

    @Test
    public void thePolicyMapOverridesMtaStsAndAppliesLive() throws Exception {
        String id = submit("o@override.sts.test");
        DeliveryEvent e = Await.value("a deferral under MTA-STS", 60,
                () -> find("o@override.sts.test", RecipientResult.Status.DEFERRED));
        assertEquals("mta-sts-enforce", e.tls().policy());
        // the operator overrides the domain's policy in the map; the next retry follows it
        Path map = Paths.get(System.getProperty("karaf.etc"), "hermod-tls-policy.map");
        Files.writeString(map, Files.readString(map) + "\noverride.sts.test encrypt\n");
        StartTlsSink.Received r = Await.value("delivered after the map changed", 60,
                () -> caSink.messageFor("o@override.sts.test"));
        assertTrue(r.tls());
        Await.until("message left the queue", 20, () -> !queued(id));
        DeliveryTls tls = event("o@override.sts.test", RecipientResult.Status.DELIVERED).tls();
        assertEquals("encrypt", tls.policy());
        assertEquals("map", tls.policySource());
        assertFalse("encrypt does not authenticate", tls.verified());
        assertTrue(tls.protocol(), tls.protocol().startsWith("TLSv1."));
    }

    private static DeliveryEvent find(String rcpt, RecipientResult.Status status) {
        for (DeliveryEvent e : events) {
            if (e.recipient().equals(rcpt) && e.outcome() == status) {
                return e;
            }
        }
        return null;
    }

    private static DeliveryEvent event(String rcpt, RecipientResult.Status status) throws Exception {
        return Await.value("a " + status + " event for " + rcpt, 20, () -> find(rcpt, status));
    }

    private boolean queued(String id) {
        return queues.message(id).isPresent();
    }

    private String accountingLine(String id, String outcome) throws Exception {
        Path log = Paths.get(System.getProperty("karaf.data"), "hermod", "log", "delivery.jsonl");
        return Await.value("the accounting line of " + id, 20, () -> {
            if (!Files.exists(log)) {
                return null;
            }
            for (String l : Files.readAllLines(log)) {
                if (l.contains("\"queueId\":\"" + id + "\"") && l.contains("\"outcome\":\"" + outcome + "\"")) {
                    return l;
                }
            }
            return null;
        });
    }

    private String submit(String to) throws Exception {
        String v = String.valueOf(configAdmin.getConfiguration("org.hermod.smtp", null).getProperties().get("port"));
        try (SmtpTestClient c = SmtpTestClient.connect(Integer.parseInt(v.trim()))) {
            c.reply();
            c.command("EHLO app.test");
            assertTrue(c.command("MAIL FROM:<app@senders.test>").startsWith("250"));
            String r = c.command("RCPT TO:<" + to + ">");
            assertTrue(r, r.startsWith("250"));
            assertTrue(c.command("DATA").startsWith("354"));
            c.send("Subject: tls to " + to + "\r\nFrom: app@senders.test\r\n\r\nHello\r\n.\r\n");
            r = c.reply();
            assertTrue(r, r.startsWith("250 2.0.0 Ok: queued as "));
            return r.substring(r.lastIndexOf(' ') + 1).trim();
        }
    }
}
