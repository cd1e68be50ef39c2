package org.hermod.itests;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;

import javax.inject.Inject;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.Classification;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.KarafDistributionOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

/**
 * Bounce handling in the running distribution: classification of delivery failures, the suppression list at RCPT,
 * VERP return paths and asynchronous bounces coming back to the bounce domain, and a higher-ranked classifier
 * taking over at runtime.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BounceIT extends RelayTestSupport {

    @Inject
    BundleContext bundleContext;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return relayOptions(
                KarafDistributionOption.editConfigurationFilePut("etc/org.hermod.bounce.cfg", "bounceDomain", "bounces.test"),
                KarafDistributionOption.editConfigurationFilePut("etc/org.hermod.bounce.cfg", "verpSecret", "it-secret"));
    }

    private String rcptReply(String address) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(prop("org.hermod.smtp", "port"))) {
            c.reply();
            c.command("EHLO app.test");
            c.command("MAIL FROM:<app@senders.test>");
            return c.command("RCPT TO:<" + address + ">");
        }
    }

    @Test
    public void aHardBounceIsClassifiedAndSuppressesTheRecipient() throws Exception {
        submit("app@senders.test", "bounce-hard", "unknown3@reject.test");
        await("suppressed", 40, () -> console("hermod:suppression-list").contains("unknown3@reject.test"));
        String log = accounting();
        assertTrue(log, log.contains("\"recipient\":\"unknown3@reject.test\"") && log.contains("\"category\":\"bad-mailbox\""));
        String refused = rcptReply("unknown3@reject.test");
        assertTrue(refused, refused.startsWith("550 5.7.1") && refused.contains("suppression"));
        console("hermod:suppression-remove unknown3@reject.test");
        assertTrue(rcptReply("unknown3@reject.test").startsWith("250"));
    }

    @Test
    public void verpReturnPathBringsAnAsynchronousBounceBackToItsRecipient() throws Exception {
        String id = submit("app@senders.test", "bounce-verp", "later-gone@senders.test");
        SmtpPeer.Received sent = await("delivered", 30, () -> senders.received().stream()
                .filter(r -> r.data().contains("Subject: bounce-verp")).findFirst().orElse(null));
        String returnPath = sent.mailFrom();
        assertTrue(returnPath, returnPath.endsWith("@bounces.test") && returnPath.contains(id));

        // days later the destination sends a DSN to the VERP address (from anywhere: no relay permission needed)
        String dsn = "From: MAILER-DAEMON@mx.senders.test\r\nTo: <" + returnPath + ">\r\nSubject: Undelivered Mail\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n"
                + "--b1\r\nContent-Type: text/plain\r\n\r\nThe mailbox is gone.\r\n"
                + "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.senders.test\r\n\r\n"
                + "Final-Recipient: rfc822; later-gone@senders.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                + "Diagnostic-Code: smtp; 550 5.1.1 <later-gone@senders.test>: user unknown\r\n"
                + "--b1--\r\n";
        try (SmtpTestClient c = SmtpTestClient.connect(prop("org.hermod.smtp", "port"))) {
            c.reply();
            c.command("EHLO mx.senders.test");
            assertTrue(c.command("MAIL FROM:<>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<" + returnPath + ">").startsWith("250"));
            assertTrue(c.command("DATA").startsWith("354"));
            c.send(dsn + ".\r\n");
            String r = c.reply();
            assertTrue(r, r.startsWith("250") && r.contains("bounce processed"));
        }
        await("suppressed after the async bounce", 20,
                () -> console("hermod:suppression-list").contains("later-gone@senders.test"));
        assertFalse("bounce input is not relayed", queues.queueIds(null, 1000).stream()
                .anyMatch(q -> queues.message(q).map(m -> m.envelope().recipients().get(0).address().domain()
                        .equals("bounces.test")).orElse(false)));
        Path f = Files.createTempFile("bounce", ".eml");
        Files.writeString(f, dsn);
        String classified = console("hermod:bounce-classify --file " + f);
        assertTrue(classified, classified.contains("bad-mailbox") && classified.contains("later-gone@senders.test"));
    }

    @Test
    public void aHigherRankedClassifierTakesOverAtRuntimeAndRemovingItRestoresTheDefault() throws Exception {
        String before = console("hermod:bounce-classify \"550 5.1.1 <x@y.test>: User unknown\"");
        assertTrue(before, before.contains("bad-mailbox"));
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_RANKING, 1000);
        BounceClassifier custom = f -> new Classification("operator-special", true, "5.9.9",
                new Classification.Trace("itest", "it-rule", f.text(), List.of()));
        ServiceRegistration<BounceClassifier> reg = bundleContext.registerService(BounceClassifier.class, custom, props);
        try {
            String during = console("hermod:bounce-classify \"550 5.1.1 <x@y.test>: User unknown\"");
            assertTrue(during, during.contains("operator-special"));
            submit("app@senders.test", "bounce-custom", "unknown4@reject.test");
            await("delivery used the new classifier", 30, () -> accounting().contains("\"category\":\"operator-special\""));
        } finally {
            reg.unregister();
        }
        String after = console("hermod:bounce-classify \"550 5.1.1 <x@y.test>: User unknown\"");
        assertTrue(after, after.contains("bad-mailbox") && !after.contains("operator-special"));
    }
}
