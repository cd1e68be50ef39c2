package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.hermod.api.spool.QueueManager;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.KarafDistributionOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Hermod relays end to end inside the real distribution: MX records come over the wire from dnsmasq, mail goes to
 * Postfix's smtp-sink and to scripted SMTP peers on loopback addresses, failures come back to the sender as DSNs that
 * Python's email parser and sisimai read.
 *
 * <p>Loopback addresses: 127.0.0.1 smtp-sink; 127.0.0.2 nothing (a dead MX); 127.0.0.3 defers the first RCPT;
 * 127.0.0.4 refuses recipients named unknown*; 127.0.0.5 the senders' MX, where DSNs arrive.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DeliveryIT {

    private static final int SMTP = HermodKaraf.freePort();
    private static final int DNS = HermodKaraf.freePort();
    private static final int MX_PORT = HermodKaraf.freePort();

    private static boolean started;
    private static Path sinkDir;
    private static SmtpPeer flaky;
    private static SmtpPeer rejecting;
    private static SmtpPeer senders;

    @Inject
    QueueManager queues;

    @Inject
    SessionFactory sessions;

    @Inject
    ConfigurationAdmin configAdmin;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        String d = "etc/org.hermod.delivery.cfg";
        return HermodKaraf.options(SMTP,
                KarafDistributionOption.editConfigurationFilePut(d, "dnsServers", "127.0.0.1:" + DNS),
                KarafDistributionOption.editConfigurationFilePut(d, "smtpPort", String.valueOf(MX_PORT)),
                KarafDistributionOption.editConfigurationFilePut(d, "retryInitial", "2s"),
                KarafDistributionOption.editConfigurationFilePut(d, "retryMax", "3s"),
                KarafDistributionOption.editConfigurationFilePut(d, "connectTimeout", "3s"),
                KarafDistributionOption.editConfigurationFilePut(d, "heloName", "hermod.test"),
                KarafDistributionOption.editConfigurationFilePut(d, "domainOverrides",
                        "expire.test: maxAge=5s, retry=1s; down.test: retry=1h"));
    }

    private int prop(String pid, String key) throws Exception {
        String v = String.valueOf(configAdmin.getConfiguration(pid, null).getProperties().get(key));
        return Integer.parseInt(v.substring(v.lastIndexOf(':') + 1).trim());
    }

    @Before
    public void startPeers() throws Exception {
        synchronized (DeliveryIT.class) {
            if (started) {
                return;
            }
            int dns = prop("org.hermod.delivery", "dnsServers");
            int mx = prop("org.hermod.delivery", "smtpPort");
            new Dnsmasq(dns, List.of(
                    "--mx-host=ok.test,mx.ok.test,10", "--host-record=mx.ok.test,127.0.0.1",
                    "--mx-host=fallback.test,mx1.fallback.test,10", "--mx-host=fallback.test,mx2.fallback.test,20",
                    "--host-record=mx1.fallback.test,127.0.0.2", "--host-record=mx2.fallback.test,127.0.0.1",
                    "--mx-host=flaky.test,mx.flaky.test,10", "--host-record=mx.flaky.test,127.0.0.3",
                    "--mx-host=reject.test,mx.reject.test,10", "--host-record=mx.reject.test,127.0.0.4",
                    "--mx-host=senders.test,mx.senders.test,10", "--host-record=mx.senders.test,127.0.0.5",
                    "--mx-host=expire.test,mx.expire.test,10", "--host-record=mx.expire.test,127.0.0.2",
                    "--mx-host=down.test,mx.down.test,10", "--host-record=mx.down.test,127.0.0.2",
                    "--mx-host=nullmx.test,.,0"));
            sinkDir = Files.createTempDirectory("hermod-sink");
            String sink = Files.exists(Paths.get("/usr/sbin/smtp-sink")) ? "/usr/sbin/smtp-sink" : "smtp-sink";
            new ProcessBuilder(sink, "-u", "root", "-d", sinkDir + "/m.", "127.0.0.1:" + mx, "50")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            flaky = new SmtpPeer("127.0.0.3", mx, (r, n) -> n == 0 ? "451 4.3.0 Try again later" : "250 2.1.5 Ok", 0);
            rejecting = new SmtpPeer("127.0.0.4", mx,
                    (r, n) -> r.startsWith("unknown") ? "550 5.1.1 <" + r + ">: Recipient address rejected: User unknown"
                            : "250 2.1.5 Ok", 0);
            senders = new SmtpPeer("127.0.0.5", mx, (r, n) -> "250 2.1.5 Ok", 0);
            started = true;
        }
    }

    private String submit(String from, String subject, String... to) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(prop("org.hermod.smtp", "port"))) {
            c.reply();
            c.command("EHLO app.test");
            assertTrue(c.command("MAIL FROM:<" + from + ">").startsWith("250"));
            for (String t : to) {
                String r = c.command("RCPT TO:<" + t + ">");
                assertTrue(r, r.startsWith("250"));
            }
            assertTrue(c.command("DATA").startsWith("354"));
            c.send("Subject: " + subject + "\r\nFrom: " + (from.isEmpty() ? "MAILER-DAEMON@app.test" : from)
                    + "\r\n\r\nBody of " + subject + "\r\n.\r\n");
            String r = c.reply();
            assertTrue(r, r.startsWith("250 2.0.0 Ok: queued as "));
            return r.substring(r.lastIndexOf(' ') + 1).trim();
        }
    }

    private static <T> T await(String what, int seconds, Callable<T> check) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            T v = check.call();
            if (v != null && !Boolean.FALSE.equals(v)) {
                return v;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    private static String sinkMessageWith(String text) throws Exception {
        try (Stream<Path> s = Files.list(sinkDir)) {
            for (Path p : s.toList()) {
                String c = Files.readString(p, StandardCharsets.ISO_8859_1);
                if (c.contains(text)) {
                    return c;
                }
            }
        }
        return null;
    }

    private static SmtpPeer.Received dsnAbout(String text) {
        for (SmtpPeer.Received r : senders.received()) {
            if (r.mailFrom().isEmpty() && r.data().contains(text)) {
                return r;
            }
        }
        return null;
    }

    private String accounting() throws Exception {
        Path log = Paths.get(System.getProperty("karaf.data"), "hermod", "log", "delivery.jsonl");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private boolean queued(String id) {
        return queues.message(id).isPresent();
    }

    String console(String command) throws Exception {
        for (int i = 0; i < 50; i++) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            PrintStream ps = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            try {
                Session s = sessions.create(System.in, ps, ps);
                s.execute(command);
                return bytes.toString(StandardCharsets.UTF_8);
            } catch (Exception e) {
                if (!String.valueOf(e.getMessage()).contains("not found")) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
        throw new AssertionError("command never became available: " + command);
    }

    @Test
    public void deliversToPostfixSmtpSinkFoundByMx() throws Exception {
        String id = submit("app@senders.test", "relay-ok", "rcpt@ok.test");
        String got = await("smtp-sink got the message", 30, () -> sinkMessageWith("Subject: relay-ok"));
        assertTrue(got, got.contains("Received: from app.test"));
        await("message left the queue", 10, () -> !queued(id));
        String log = await("accounting line", 10, () -> accounting().contains(id) ? accounting() : null);
        assertTrue(log, log.contains("\"queueId\":\"" + id + "\"") && log.contains("\"mxHost\":\"mx.ok.test\"")
                && log.contains("\"outcome\":\"DELIVERED\""));
    }

    @Test
    public void fallsBackToTheNextMxWhenTheFirstIsDown() throws Exception {
        String id = submit("app@senders.test", "relay-fallback", "rcpt@fallback.test");
        await("delivered through the second MX", 30, () -> sinkMessageWith("Subject: relay-fallback"));
        await("message left the queue", 10, () -> !queued(id));
        assertTrue(accounting().contains("mx2.fallback.test"));
    }

    @Test
    public void temporaryFailureIsRetriedAndThenDelivered() throws Exception {
        String id = submit("app@senders.test", "relay-flaky", "rcpt@flaky.test");
        await("delivered on retry", 40, () -> flaky.received().stream()
                .anyMatch(r -> r.data().contains("Subject: relay-flaky")));
        await("message left the queue", 10, () -> !queued(id));
        String log = accounting();
        assertTrue(log, log.contains("\"outcome\":\"DEFERRED\"") && log.contains("451 4.3.0"));
        assertFalse("no DSN for a message that was delivered", senders.received().stream()
                .anyMatch(r -> r.data().contains("relay-flaky")));
    }

    @Test
    public void refusedRecipientBouncesToTheSenderAndTheOthersAreDelivered() throws Exception {
        String id = submit("app@senders.test", "relay-partial", "known@reject.test", "unknown1@reject.test");
        SmtpPeer.Received dsn = await("DSN at the sender's MX", 40, () -> dsnAbout("unknown1@reject.test"));
        assertEquals(List.of("app@senders.test"), dsn.rcptTo());
        assertTrue(rejecting.received().stream().anyMatch(r -> r.rcptTo().equals(List.of("known@reject.test"))
                && r.data().contains("Subject: relay-partial")));
        String py = DsnCheck.python(dsn.data());
        assertTrue(py, py.contains("content-type: multipart/report") && py.contains("report-type: delivery-status"));
        assertTrue(py, py.contains("Final-Recipient: rfc822; unknown1@reject.test") || py.contains("Final-Recipient: rfc822;unknown1@reject.test"));
        assertTrue(py, py.contains("Action: failed") && py.contains("Status: 5.1.1") && py.contains("550 5.1.1"));
        assertFalse("the delivered recipient is not in the DSN: " + py, py.contains("known@reject.test\n"));
        String sisimai = DsnCheck.sisimai(dsn.data());
        assertTrue(sisimai, sisimai.contains("unknown1@reject.test userunknown 5.1.1"));
        await("message left the queue", 10, () -> !queued(id));
    }

    @Test
    public void expiredMessageBouncesWithDeliveryTimeExpired() throws Exception {
        submit("app@senders.test", "relay-expire", "rcpt@expire.test");
        SmtpPeer.Received dsn = await("expiry DSN", 60, () -> dsnAbout("rcpt@expire.test"));
        String py = DsnCheck.python(dsn.data());
        assertTrue(py, py.contains("Action: failed") && py.contains("Status: 4.4.7"));
    }

    @Test
    public void nullMxFailsAtOnceWithAPermanentDsn() throws Exception {
        submit("app@senders.test", "relay-nullmx", "rcpt@nullmx.test");
        SmtpPeer.Received dsn = await("null MX DSN", 30, () -> dsnAbout("rcpt@nullmx.test"));
        String py = DsnCheck.python(dsn.data());
        assertTrue(py, py.contains("Status: 5.1.10"));
    }

    @Test
    public void aBounceIsNeverBounced() throws Exception {
        String id = submit("", "bounce-of-bounce", "unknown2@reject.test");
        await("attempt recorded", 30, () -> accounting().contains(id) && accounting().contains("unknown2@reject.test"));
        await("message left the queue", 10, () -> !queued(id));
        Thread.sleep(2000);
        assertTrue("nothing was queued for the null sender", queues.summaries().stream()
                .noneMatch(s -> s.domain().isEmpty()));
        assertTrue(senders.received().stream().noneMatch(r -> r.data().contains("unknown2@reject.test")));
    }

    @Test
    public void operatorSeesDeferredMailAndCanBounceIt() throws Exception {
        String id = submit("app@senders.test", "relay-down", "rcpt@down.test");
        String list = await("deferred in queue-list", 30, () -> {
            String l = console("hermod:queue-list");
            return l.contains("down.test") && !l.contains("down.test                               0") ? l : null;
        });
        await("a last error", 30, () -> queues.summaries().stream()
                .anyMatch(s -> s.domain().equals("down.test") && s.deferred() == 1 && s.lastError() != null));
        list = console("hermod:queue-list");
        assertTrue(list, list.contains("down.test") && list.contains("in "));
        assertTrue(console("hermod:queue-bounce " + id).contains("will be bounced"));
        SmtpPeer.Received dsn = await("operator bounce DSN", 30, () -> dsnAbout("rcpt@down.test"));
        assertTrue(DsnCheck.python(dsn.data()).contains("Action: failed"));
        await("message left the queue", 10, () -> !queued(id));
    }
}
