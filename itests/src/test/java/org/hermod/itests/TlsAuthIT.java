package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.hermod.api.spool.MessageInfo;
import org.hermod.api.spool.QueueManager;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * TLS, AUTH and relay rules in the real distribution, with real clients: swaks --tls on the MTA port, Python's smtplib
 * with STARTTLS and with implicit TLS on the submission listeners (users from Karaf's etc/users.properties), a raw
 * Python TLS client for the STARTTLS command-injection case (CVE-2011-0411), openssl s_client for protocol versions
 * and certificate reload. The test client is not in mynetworks here, so relaying rules apply to it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class TlsAuthIT {

    // chosen where the configuration is written; inside Karaf (where the tests run) they are read back from ConfigAdmin
    private static final int MTA_PORT = HermodKaraf.freePort();
    private static final int SUBMISSION_PORT = HermodKaraf.freePort();
    private static final int SUBMISSIONS_PORT = HermodKaraf.freePort();
    private int mta;
    private int submission;
    private int submissions;

    /** smtplib client: STARTTLS or implicit TLS, then AUTH (PLAIN, or LOGIN), then one message. */
    private static final String PY_SUBMIT = String.join("\n",
            "import smtplib, ssl, sys",
            "port, mode, user, pw, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]",
            "ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE",
            "if mode == 'starttls':",
            "    s = smtplib.SMTP('127.0.0.1', port, timeout=30); s.ehlo('py.test')",
            "    print('auth-before-tls', s.has_extn('auth'))",
            "    print('mail-before-tls', s.mail('app@sender.test')[0]); s.rset()",
            "    s.starttls(context=ctx); s.ehlo('py.test')",
            "else:",
            "    s = smtplib.SMTP_SSL('127.0.0.1', port, context=ctx, timeout=30); s.ehlo('py.test')",
            "print('mail-before-auth', s.mail('app@sender.test')[0]); s.rset()",
            "try:",
            "    if mode == 'starttls':",
            "        s.login(user, pw)",
            "    else:",
            "        s.user, s.password = user, pw",
            "        s.auth('LOGIN', s.auth_login, initial_response_ok=False)",
            "    print('login ok')",
            "except smtplib.SMTPAuthenticationError as e:",
            "    print('login failed', e.smtp_code); sys.exit(3)",
            "s.mail('app@sender.test'); s.rcpt(rcpt)",
            "code, resp = s.data(b'Subject: py\\r\\n\\r\\nhello\\r\\n')",
            "print('data', code, resp.decode())",
            "print('tls', s.sock.version())",
            "s.quit()");

    /** Raw TLS client: a MAIL pipelined after STARTTLS in the same packet must never be executed. */
    private static final String PY_INJECT = String.join("\n",
            "import socket, ssl, sys",
            "def reply(f):",
            "    out = []",
            "    while True:",
            "        l = f.readline().decode().rstrip('\\r\\n'); out.append(l)",
            "        if len(l) < 4 or l[3] != '-': return ' | '.join(out)",
            "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30)",
            "f = s.makefile('rb', buffering=0); reply(f)",
            "s.sendall(b'EHLO inject.test\\r\\n'); reply(f)",
            "s.sendall(b'STARTTLS\\r\\nMAIL FROM:<evil@x.test>\\r\\n')",
            "print('starttls', reply(f))",
            "ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE",
            "t = ctx.wrap_socket(s, server_hostname='hermod.test'); tf = t.makefile('rb', buffering=0)",
            "t.sendall(b'NOOP\\r\\n'); print('first', reply(tf))",
            "t.sendall(b'RCPT TO:<a@relay.test>\\r\\n'); print('rcpt', reply(tf))");

    @Inject
    QueueManager queues;

    @Inject
    org.osgi.service.cm.ConfigurationAdmin configAdmin;

    @org.junit.Before
    public void ports() throws Exception {
        mta = Integer.parseInt(String.valueOf(configAdmin.getConfiguration("org.hermod.smtp", null).getProperties()
                .get("port")));
        for (org.osgi.service.cm.Configuration c : configAdmin.listConfigurations(
                "(service.factoryPid=org.hermod.smtp.listener)")) {
            int p = Integer.parseInt(String.valueOf(c.getProperties().get("port")));
            if ("submission".equals(c.getProperties().get("mode"))) {
                submission = p;
            } else {
                submissions = p;
            }
        }
    }

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return HermodKaraf.options(MTA_PORT,
                editConfigurationFilePut("etc/org.hermod.delivery.cfg", "dnsServers", "127.0.0.1:" + HermodKaraf.freePort()),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "mynetworks", "192.0.2.0/24"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "relayDomains", "relay.test, verified.test"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "recipientMap", "hermod-recipients.txt"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "maxAuthFailuresPerIp", "3"),
                editConfigurationFilePut("etc/org.hermod.smtp.listener-submission.cfg", "port", String.valueOf(SUBMISSION_PORT)),
                editConfigurationFilePut("etc/org.hermod.smtp.listener-submission.cfg", "mode", "submission"),
                editConfigurationFilePut("etc/org.hermod.smtp.listener-submissions.cfg", "port", String.valueOf(SUBMISSIONS_PORT)),
                editConfigurationFilePut("etc/org.hermod.smtp.listener-submissions.cfg", "mode", "submissions"),
                editConfigurationFilePut("etc/users.properties", "mailer", "s3cret,smtp-submit"));
    }

    private static Path etc() {
        return Paths.get(System.getProperty("karaf.etc"));
    }

    private static void awaitPort(int port) throws Exception {
        SmtpTestClient.connect(port).close();
    }

    /** Runs a command, returns its output (stdout and stderr) with the exit code as the last line. */
    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("finished: " + cmd, p.waitFor(60, TimeUnit.SECONDS));
        return out + "\nexit=" + p.exitValue();
    }

    private static String python(String script, Object... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        return run(cmd);
    }

    private MessageInfo queued(String output) {
        String id = output.replaceAll("(?s).*queued as (\\S+).*", "$1");
        return queues.message(id).orElseThrow(() -> new AssertionError(output));
    }

    @Test
    public void swaksDeliversOverStarttlsOnTheMtaPort() throws Exception {
        awaitPort(mta);
        String out = run(List.of("swaks", "--server", "127.0.0.1:" + mta, "--tls", "--from", "a@sender.test",
                "--to", "alice@relay.test", "--body", "over TLS"));
        assertTrue(out, out.endsWith("exit=0"));
        assertTrue(out, out.contains("<-  220 2.0.0 Ready to start TLS") && out.contains("=== TLS started with cipher TLSv1.3"));
        assertTrue(out, out.contains("<~  250 2.1.5 Ok")); // the envelope went over TLS
        MessageInfo m = queued(out);
        assertTrue(m.headers(), m.headers().contains("with ESMTPS id") && m.headers().contains("(using TLSv1.3"));
    }

    @Test
    public void submissionNeedsStarttlsThenAuthAndAuthenticatedUsersMayRelay() throws Exception {
        awaitPort(submission);
        String out = python(PY_SUBMIT, submission, "starttls", "mailer", "s3cret", "friend@elsewhere.test");
        assertTrue(out, out.contains("auth-before-tls False") && out.contains("mail-before-tls 530"));
        assertTrue(out, out.contains("mail-before-auth 530") && out.contains("login ok"));
        assertTrue(out, out.contains("data 250 2.0.0 Ok: queued as") && out.endsWith("exit=0"));
        MessageInfo m = queued(out);
        assertEquals("friend@elsewhere.test", m.envelope().recipients().get(0).address().toString());
        assertTrue(m.headers(), m.headers().contains("(Authenticated sender: mailer)")
                && m.headers().contains("with ESMTPSA id"));
    }

    @Test
    public void implicitTlsSubmissionWithLoginAndFailedAuthThrottling() throws Exception {
        awaitPort(submissions);
        String out = python(PY_SUBMIT, submissions, "implicit", "mailer", "s3cret", "friend@elsewhere.test");
        assertTrue(out, out.contains("mail-before-auth 530") && out.contains("login ok") && out.endsWith("exit=0"));
        assertTrue(out, out.contains("tls TLSv1.3"));
        assertTrue(queued(out).headers().contains("(Authenticated sender: mailer)"));
        // wrong passwords: 535 three times, then the client's address is refused even with the right one
        for (int i = 0; i < 3; i++) {
            String bad = python(PY_SUBMIT, submissions, "implicit", "mailer", "wrong" + i, "friend@elsewhere.test");
            assertTrue(bad, bad.contains("login failed 535"));
        }
        String blocked = python(PY_SUBMIT, submissions, "implicit", "mailer", "s3cret", "friend@elsewhere.test");
        assertTrue(blocked, blocked.contains("login failed 454"));
        // and all of it is in the SMTP event log
        Path events = Paths.get(System.getProperty("karaf.data"), "hermod", "log", "smtp-events.jsonl");
        Await.until("auth events in " + events, 30, () -> {
            String log = Files.exists(events) ? Files.readString(events) : "";
            return log.contains("\"event\":\"auth\"") && log.contains("\"user\":\"mailer\"")
                    && log.contains("\"event\":\"auth-failed\"") && log.contains("\"event\":\"auth-refused\"")
                    && log.contains("\"listener\":\"submissions\"");
        });
    }

    @Test
    public void commandsInjectedBeforeTheTlsHandshakeAreNeverExecuted() throws Exception {
        awaitPort(mta);
        String out = python(PY_INJECT, mta);
        assertTrue(out, out.contains("starttls 220 2.0.0 Ready to start TLS"));
        assertTrue("the first reply over TLS answers NOOP: " + out, out.contains("first 250 2.0.0 Ok"));
        assertTrue("the injected MAIL was discarded: " + out, out.contains("rcpt 503 5.5.1 Error: need MAIL command"));
    }

    @Test
    public void onlyTls12AndNewerAndTheCertificateIsReloadedWhenItChanges() throws Exception {
        awaitPort(mta);
        String old = sClient("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        assertFalse(old, old.contains("New, TLSv1.1"));
        assertFalse(old, old.endsWith("exit=0") && old.contains("Cipher is") && !old.contains("Cipher is (NONE)"));
        String v12 = sClient("-tls1_2");
        assertTrue(v12, v12.contains("New, TLSv1.2"));
        assertTrue("the generated self-signed certificate: " + v12, v12.contains("CN = hermod.test"));
        // replace the pair with the operator's own certificate: used for new sessions without a restart
        Path tmp = Files.createTempDirectory("cert");
        String gen = run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=reloaded.test", "-keyout", tmp.resolve("k").toString(), "-out", tmp.resolve("c").toString()));
        assertTrue(gen, gen.endsWith("exit=0"));
        Files.move(tmp.resolve("k"), etc().resolve("hermod-smtp.key"), StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp.resolve("c"), etc().resolve("hermod-smtp.crt"), StandardCopyOption.REPLACE_EXISTING);
        Await.until("the new certificate in use", 30, () -> sClient("-tls1_3").contains("CN = reloaded.test"));
    }

    private String sClient(String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + mta,
                "-starttls", "smtp", "-servername", "hermod.test"));
        cmd.addAll(List.of(extra));
        return run(cmd);
    }

    @Test
    public void strangersMayOnlyRelayToKnownRecipientsOfRelayDomains() throws Exception {
        Files.writeString(etc().resolve("hermod-recipients.txt"), "alice@relay.test\n# bob is gone\n");
        try (SmtpTestClient c = SmtpTestClient.connect(mta)) {
            c.reply();
            c.command("EHLO stranger.test");
            assertTrue(c.command("MAIL FROM:<s@sender.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<x@elsewhere.test>").startsWith("554 5.7.1"));
            assertTrue(c.command("RCPT TO:<alice%elsewhere.test@relay.test>").startsWith("550 5.7.1"));
            assertTrue(c.command("RCPT TO:<elsewhere.test!alice@relay.test>").startsWith("550 5.7.1"));
            assertTrue(c.command("RCPT TO:<\"alice@elsewhere.test\"@relay.test>").startsWith("550 5.7.1"));
            assertTrue(c.command("RCPT TO:<alice@relay.test.>").startsWith("501"));
            assertTrue(c.command("RCPT TO:<alice+news@relay.test>").startsWith("250"));
        }
        // the map is read within seconds of a change
        Await.until("bob refused with 550 5.1.1", 30, () -> {
            try (SmtpTestClient c = SmtpTestClient.connect(mta)) {
                c.reply();
                c.command("EHLO stranger.test");
                c.command("MAIL FROM:<s@sender.test>");
                return c.command("RCPT TO:<bob@relay.test>").startsWith("550 5.1.1");
            }
        });
        Files.writeString(etc().resolve("hermod-recipients.txt"), "alice@relay.test\nbob@relay.test\n");
        Await.until("bob accepted again", 30, () -> {
            try (SmtpTestClient c = SmtpTestClient.connect(mta)) {
                c.reply();
                c.command("EHLO stranger.test");
                c.command("MAIL FROM:<s@sender.test>");
                return c.command("RCPT TO:<bob@relay.test>").startsWith("250");
            }
        });
    }

    @Test
    public void recipientsOfRelayDomainsAreVerifiedAtAScriptedNextHop() throws Exception {
        try (ServerSocket peer = new ServerSocket(0)) {
            Thread t = new Thread(() -> scriptedNextHop(peer), "scripted-next-hop");
            t.setDaemon(true);
            t.start();
            org.osgi.service.cm.Configuration c = configAdmin.getConfiguration("org.hermod.smtp", null);
            java.util.Dictionary<String, Object> p = c.getProperties();
            p.put("verifyNextHop", "127.0.0.1:" + peer.getLocalPort());
            c.update(p);
            try {
                // verified.test is a relay domain the recipient map does not cover (it lists relay.test and, since the
                // map covers subdomains, other.relay.test too): the next hop decides
                Await.until("the next hop refuses nobody@verified.test", 30, () -> rcpt("nobody@verified.test")
                        .startsWith("550 5.1.1 <nobody@verified.test>: Recipient address rejected"));
                assertTrue(rcpt("known@verified.test").startsWith("250"));
                assertTrue("a subdomain of a mapped domain is decided by the map, not the next hop",
                        rcpt("known@other.relay.test").startsWith("550 5.1.1"));
            } finally {
                p.put("verifyNextHop", "");
                c.update(p);
            }
        }
    }

    private String rcpt(String address) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mta)) {
            c.reply();
            c.command("EHLO stranger.test");
            c.command("MAIL FROM:<s@sender.test>");
            return c.command("RCPT TO:<" + address + ">");
        }
    }

    /** Knows known@...; 550 for every other recipient. */
    private static void scriptedNextHop(ServerSocket peer) {
        while (!peer.isClosed()) {
            try (Socket s = peer.accept()) {
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                        StandardCharsets.UTF_8));
                java.io.OutputStream out = s.getOutputStream();
                out.write("220 next.test\r\n".getBytes(StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null && !line.startsWith("QUIT")) {
                    String reply = line.startsWith("RCPT TO:<known@") ? "250 ok"
                            : line.startsWith("RCPT") ? "550 5.1.1 unknown user" : "250 ok";
                    out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
                }
            } catch (java.io.IOException e) {
                // the test closed the peer
            }
        }
    }

    @Test
    public void bdatMessageOverRealSocketsIsSpooled() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mta)) {
            c.reply();
            assertTrue(c.command("EHLO chunks.test").contains("250-CHUNKING"));
            String a = "Subject: chunks\r\n\r\n.starts with a dot\r\n";
            String b = "last line\r\n";
            c.send("MAIL FROM:<c@sender.test>\r\nRCPT TO:<alice@relay.test>\r\nBDAT " + a.length() + "\r\n" + a
                    + "BDAT " + b.length() + " LAST\r\n" + b);
            List<String> r = c.replies(4);
            assertEquals("250 2.0.0 " + a.length() + " octets received", r.get(2));
            assertTrue(r.get(3), r.get(3).startsWith("250 2.0.0 Ok: queued as"));
            MessageInfo m = queued(r.get(3));
            assertTrue(m.headers(), m.headers().contains("Subject: chunks"));
        }
    }
}
