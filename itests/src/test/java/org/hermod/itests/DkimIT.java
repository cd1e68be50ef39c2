package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterProperties;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.KarafDistributionOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * DKIM signing end to end in the real distribution: keys made with openssl in etc/dkim, their records published as
 * TXT in dnsmasq, mail submitted with swaks, relayed by MX (dnsmasq) to a scripted SMTP peer, and the delivered bytes
 * verified by dkimpy looking the keys up over the wire, for RSA-SHA256 and Ed25519-SHA256 on one message. A domain
 * whose key is missing gets 451 4.3.0 until the key file appears, then its mail is signed (live key loading).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DkimIT {

    private static final int SMTP = HermodKaraf.freePort();
    private static final int DNS = HermodKaraf.freePort();
    private static final int MX = HermodKaraf.freePort();

    private static boolean started;
    private static SmtpPeer peer;
    private static Path lateKey;

    @Inject
    ConfigurationAdmin configAdmin;

    @Inject
    BundleContext context;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        String d = "etc/org.hermod.delivery.cfg";
        String k = "etc/org.hermod.dkim.cfg";
        return HermodKaraf.options(SMTP,
                KarafDistributionOption.editConfigurationFilePut(d, "dnsServers", "127.0.0.1:" + DNS),
                KarafDistributionOption.editConfigurationFilePut(d, "smtpPort", String.valueOf(MX)),
                KarafDistributionOption.editConfigurationFilePut(d, "retryInitial", "2s"),
                KarafDistributionOption.editConfigurationFilePut(d, "retryMax", "3s"),
                KarafDistributionOption.editConfigurationFilePut(d, "heloName", "hermod.test"),
                // the key files do not exist yet at boot: the test makes them, and Hermod picks them up
                KarafDistributionOption.editConfigurationFilePut(k, "signatures",
                        "signer.test r1 rsa-sha256 signer.test.r1.pem; signer.test e1 ed25519-sha256 signer.test.e1.pem"),
                KarafDistributionOption.editConfigurationFilePut(k, "keyPollMillis", "200"));
    }

    private int port(String pid, String key) throws Exception {
        String v = String.valueOf(configAdmin.getConfiguration(pid, null).getProperties().get(key));
        return Integer.parseInt(v.substring(v.lastIndexOf(':') + 1).trim());
    }

    private int dnsPort() throws Exception {
        return port("org.hermod.delivery", "dnsServers");
    }

    @Before
    public void keysDnsAndPeer() throws Exception {
        synchronized (DkimIT.class) {
            if (started) {
                return;
            }
            Path dir = Paths.get(System.getProperty("karaf.etc"), "dkim");
            Files.createDirectories(dir);
            String rsa = DkimVerifier.makeKey("RSA", dir.resolve("signer.test.r1.pem"));
            String ed = DkimVerifier.makeKey("ED25519", dir.resolve("signer.test.e1.pem"));
            lateKey = Files.createTempDirectory("dkim-late").resolve("late.pem");
            String late = DkimVerifier.makeKey("ED25519", lateKey);
            Dnsmasq dns = new Dnsmasq(dnsPort(), List.of(
                    "--mx-host=dkim.test,mx.dkim.test,10", "--host-record=mx.dkim.test,127.0.0.1",
                    DkimVerifier.txtRecord("r1._domainkey.signer.test", rsa),
                    DkimVerifier.txtRecord("e1._domainkey.signer.test", ed),
                    DkimVerifier.txtRecord("l1._domainkey.late.test", late)));
            peer = new SmtpPeer("127.0.0.1", port("org.hermod.delivery", "smtpPort"), (r, n) -> "250 2.1.5 Ok", 0);
            Runtime.getRuntime().addShutdownHook(new Thread(dns::close));
            started = true;
        }
    }

    /** swaks's transcript; the message is the file's content as it is (swaks makes line ends CRLF). */
    private String swaks(String from, String data) throws Exception {
        Path f = Files.createTempFile("dkim-it", ".eml");
        try {
            Files.writeString(f, data, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder(ExternalTool.SWAKS.require(), "--server",
                    "127.0.0.1:" + port("org.hermod.smtp", "port"), "--from", from, "--to", "bob@dkim.test",
                    "--data", "@" + f).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(out, p.waitFor(60, TimeUnit.SECONDS));
            return out;
        } finally {
            Files.deleteIfExists(f);
        }
    }

    private static String message(String from, String subject) {
        return "From: Ann Example <" + from + ">\n"
                + "To: Bob <bob@dkim.test>\n"
                + "Subject: " + subject + ",\n"
                + "  folded   with  runs of   spaces\n"
                + "Date: Wed, 02 Dec 2026 07:00:00 +0000\n"
                + "Message-ID: <" + subject + "@signer.test>\n"
                + "MIME-Version: 1.0\n"
                + "Content-Type: text/plain; charset=UTF-8\n"
                + "Content-Transfer-Encoding: 8bit\n"
                + "List-Unsubscribe: <https://signer.test/u/" + subject + ">\n"
                + "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
                + "\n"
                + "Caf\u00e9 au lait,   \t\n"
                + ".a line that swaks dot-stuffs\n"
                + "\n"
                + "\n";
    }

    /** The message as the peer got it, by the queue id in swaks's transcript (Hermod's Received: names it). */
    private static byte[] delivered(String swaksOutput) throws Exception {
        String id = swaksOutput.replaceAll("(?s).*queued as (\\S+).*", "$1");
        SmtpPeer.Received r = Await.value("the peer got " + id, 60, () -> peer.received().stream()
                .filter(m -> m.data().contains(" id " + id)).findFirst().orElse(null));
        return r.data().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Until the signing filter is registered (mail accepted before that would pass the chain without it) and the SMTP
     * server listens.
     */
    private void awaitSigningFilter() throws Exception {
        Await.until("the dkim filter is registered", 60, () -> !context.getServiceReferences(DataFilter.class,
                "(" + FilterProperties.NAME + "=dkim)").isEmpty());
        int smtp = port("org.hermod.smtp", "port");
        Await.until("the SMTP server listens", 60, () -> {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", smtp)) {
                return true;
            }
        });
    }

    @Test
    public void rsaAndEd25519SignaturesVerifyWithKeysFromDns() throws Exception {
        awaitSigningFilter();
        // the keys were written after Hermod started: wait until they are loaded (mail is deferred until then)
        String out = Await.value("signer.test's keys are loaded", 30, () -> {
            String o = swaks("ann@signer.test", message("ann@signer.test", "both-algorithms"));
            return o.contains("250 2.0.0 Ok: queued as") ? o : null;
        });
        byte[] msg = delivered(out);
        String text = new String(msg, StandardCharsets.UTF_8);
        List<String> result = DkimVerifier.verify(msg, dnsPort());
        assertEquals(text + result, 2, result.size());
        assertTrue(result.toString(), result.contains("sig 0: pass a=rsa-sha256 d=signer.test s=r1")
                || result.contains("sig 1: pass a=rsa-sha256 d=signer.test s=r1"));
        assertTrue(result.toString(), result.contains("sig 0: pass a=ed25519-sha256 d=signer.test s=e1")
                || result.contains("sig 1: pass a=ed25519-sha256 d=signer.test s=e1"));
        assertTrue(text, text.contains("h=from:from:to:to:subject:subject:date:date:message-id:message-id:"
                + "mime-version:content-type:content-transfer-encoding:list-unsubscribe:list-unsubscribe:"
                + "list-unsubscribe-post:list-unsubscribe-post;"));

        // the verifier is not a rubber stamp: the same bytes with the body changed fail both signatures
        byte[] changed = text.replace("Caf\u00e9 au lait", "Caf\u00e9 noir").getBytes(StandardCharsets.UTF_8);
        assertTrue(DkimVerifier.verify(changed, dnsPort()).stream().allMatch(l -> l.contains(": fail ")));
    }

    @Test
    public void otherDomainsAreDeliveredUnsigned() throws Exception {
        awaitSigningFilter();
        String out = swaks("ann@unsigned.test", message("ann@unsigned.test", "other-domain"));
        assertTrue(out, out.contains("250 2.0.0 Ok: queued as"));
        String text = new String(delivered(out), StandardCharsets.UTF_8);
        assertFalse(text, text.contains("DKIM-Signature"));
    }

    @Test
    public void aMissingKeyDefersUntilTheKeyFileAppears() throws Exception {
        awaitSigningFilter();
        Configuration c = configAdmin.getConfiguration("org.hermod.dkim", null);
        Dictionary<String, Object> props = new Hashtable<>();
        for (var e = c.getProperties().keys(); e.hasMoreElements();) {
            String k = e.nextElement();
            props.put(k, c.getProperties().get(k));
        }
        props.put("signatures", props.get("signatures") + "; late.test l1 ed25519-sha256 late.test.l1.pem");
        c.update(props);

        // until the new configuration applies, late.test is not ours and its mail passes unsigned
        String deferred = Await.value("late.test's mail is deferred", 30, () -> {
            String o = swaks("ann@late.test", message("ann@late.test", "late-probe"));
            return o.contains("451 4.3.0") ? o : null;
        });
        assertFalse(deferred, deferred.contains("queued as"));

        Files.copy(lateKey, Paths.get(System.getProperty("karaf.etc"), "dkim", "late.test.l1.pem"),
                StandardCopyOption.REPLACE_EXISTING);
        String accepted = Await.value("late.test's mail is accepted once its key is there", 30, () -> {
            String o = swaks("ann@late.test", message("ann@late.test", "late-key"));
            return o.contains("250 2.0.0 Ok: queued as") ? o : null;
        });
        List<String> result = DkimVerifier.verify(delivered(accepted), dnsPort());
        assertEquals(List.of("sig 0: pass a=ed25519-sha256 d=late.test s=l1"), result);
    }
}
