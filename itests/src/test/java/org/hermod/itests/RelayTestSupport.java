package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import javax.inject.Inject;

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
 * Shared set-up of the relay tests inside the real distribution: MX records come over the wire from dnsmasq, mail goes
 * to Postfix's smtp-sink and to scripted SMTP peers on loopback addresses.
 *
 * <p>Loopback addresses: 127.0.0.1 smtp-sink; 127.0.0.2 nothing (a dead MX); 127.0.0.3 defers the first RCPT;
 * 127.0.0.4 refuses recipients named unknown*; 127.0.0.5 the senders' MX, where DSNs arrive.
 */
public abstract class RelayTestSupport {

    static final int SMTP = HermodKaraf.freePort();
    static final int DNS = HermodKaraf.freePort();
    static final int MX_PORT = HermodKaraf.freePort();

    static boolean started;
    static Path sinkDir;
    static SmtpPeer flaky;
    static SmtpPeer rejecting;
    static SmtpPeer senders;

    @Inject
    protected QueueManager queues;

    @Inject
    SessionFactory sessions;

    @Inject
    ConfigurationAdmin configAdmin;

    /** The distribution with delivery pointed at the test DNS server and MX port. */
    static Option[] relayOptions(Option... extra) {
        String d = "etc/org.hermod.delivery.cfg";
        Option[] base = HermodKaraf.options(SMTP,
                KarafDistributionOption.editConfigurationFilePut(d, "dnsServers", "127.0.0.1:" + DNS),
                KarafDistributionOption.editConfigurationFilePut(d, "smtpPort", String.valueOf(MX_PORT)),
                KarafDistributionOption.editConfigurationFilePut(d, "retryInitial", "2s"),
                KarafDistributionOption.editConfigurationFilePut(d, "retryMax", "3s"),
                KarafDistributionOption.editConfigurationFilePut(d, "connectTimeout", "3s"),
                KarafDistributionOption.editConfigurationFilePut(d, "heloName", "hermod.test"),
                KarafDistributionOption.editConfigurationFilePut(d, "domainOverrides",
                        "expire.test: maxAge=5s, retry=1s; down.test: retry=1h"));
        Option[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    protected int prop(String pid, String key) throws Exception {
        String v = String.valueOf(configAdmin.getConfiguration(pid, null).getProperties().get(key));
        return Integer.parseInt(v.substring(v.lastIndexOf(':') + 1).trim());
    }

    @Before
    public void startPeers() throws Exception {
        synchronized (RelayTestSupport.class) {
            if (started) {
                return;
            }
            int dns = prop("org.hermod.delivery", "dnsServers");
            int mx = prop("org.hermod.delivery", "smtpPort");
            Dnsmasq dnsmasq = new Dnsmasq(dns, List.of(
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
            String sink = ExternalTool.SMTP_SINK.require();
            ChildProcess sinkProcess = ChildProcess.start(List.of(sink, "-u", "root", "-d", sinkDir + "/m.",
                    "127.0.0.1:" + mx, "50"));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                dnsmasq.close();
                sinkProcess.stop();
            }));
            flaky = new SmtpPeer("127.0.0.3", mx, (r, n) -> n == 0 ? "451 4.3.0 Try again later" : "250 2.1.5 Ok", 0);
            rejecting = new SmtpPeer("127.0.0.4", mx,
                    (r, n) -> r.startsWith("unknown") ? "550 5.1.1 <" + r + ">: Recipient address rejected: User unknown"
                            : "250 2.1.5 Ok", 0);
            senders = new SmtpPeer("127.0.0.5", mx, (r, n) -> "250 2.1.5 Ok", 0);
            started = true;
        }
    }

    protected String submit(String from, String subject, String... to) throws Exception {
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

    static <T> T await(String what, int seconds, Callable<T> check) throws Exception {
        return Await.value(what, seconds, check);
    }

    static String sinkMessageWith(String text) throws Exception {
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

    static SmtpPeer.Received dsnAbout(String text) {
        for (SmtpPeer.Received r : senders.received()) {
            if (r.mailFrom().isEmpty() && r.data().contains(text)) {
                return r;
            }
        }
        return null;
    }

    protected String accounting() throws Exception {
        Path log = Paths.get(System.getProperty("karaf.data"), "hermod", "log", "delivery.jsonl");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    protected boolean queued(String id) {
        return queues.message(id).isPresent();
    }

    String console(String command) throws Exception {
        return KarafConsole.run(sessions, command);
    }
}
