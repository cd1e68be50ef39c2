package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Dictionary;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.apache.karaf.shell.api.console.SessionFactory;
import org.hermod.api.spool.MessageInfo;
import org.hermod.api.spool.QueueManager;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The ESMTP server inside the real Hermod distribution, over real sockets: acceptance into the spool, pipelining,
 * every kind of refusal, limits, the console, and real third-party clients (swaks, Postfix's smtp-source).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SmtpServerIT {

    private static final int PORT = HermodKaraf.freePort();

    @Inject
    QueueManager queues;

    @Inject
    SessionFactory sessions;

    @Inject
    ConfigurationAdmin configAdmin;

    @Inject
    org.osgi.framework.BundleContext bundleContext;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        // delivery must leave the queue alone here: its resolver is a port where nothing answers (temporary failure)
        return HermodKaraf.options(PORT, org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut(
                "etc/org.hermod.delivery.cfg", "dnsServers", "127.0.0.1:" + HermodKaraf.freePort()));
    }

    private int port() throws Exception {
        Object p = configAdmin.getConfiguration("org.hermod.smtp", null).getProperties().get("port");
        return Integer.parseInt(String.valueOf(p));
    }

    private SmtpTestClient client() throws Exception {
        SmtpTestClient c = SmtpTestClient.connect(port());
        String greeting = c.reply();
        assertTrue(greeting, greeting.startsWith("220 hermod.test ESMTP"));
        return c;
    }

    String console(String command) throws Exception {
        return KarafConsole.run(sessions, command);
    }

    private void configure(String... kv) throws Exception {
        org.osgi.service.cm.Configuration c = configAdmin.getConfiguration("org.hermod.smtp", null);
        Dictionary<String, Object> p = c.getProperties();
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        c.update(p);
        // SCR applies it asynchronously; the service properties change only after @Modified has returned
        Await.until("org.hermod.smtp " + java.util.Arrays.toString(kv) + " applied", 30, () -> {
            org.osgi.framework.ServiceReference<?>[] refs = bundleContext.getAllServiceReferences(
                    "org.hermod.smtp.internal.SmtpServer", null);
            if (refs == null) {
                return false;
            }
            for (int i = 0; i < kv.length; i += 2) {
                if (!String.valueOf(refs[0].getProperty(kv[i])).equals(kv[i + 1])) {
                    return false;
                }
            }
            return true;
        });
    }

    @Test
    public void acceptedMailIsSpooledAndShownInTheConsole() throws Exception {
        String id;
        try (SmtpTestClient c = client()) {
            assertTrue(c.command("EHLO client.test").contains("250-PIPELINING"));
            assertTrue(c.command("MAIL FROM:<alice@sender.test> RET=HDRS ENVID=env+2B1 BODY=8BITMIME").startsWith("250"));
            assertTrue(c.command("RCPT TO:<bob@accept.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@accept.test")
                    .startsWith("250"));
            assertTrue(c.command("DATA").startsWith("354"));
            c.send("Subject: console check\r\nFrom: alice@sender.test\r\n\r\nHello \u00fcnicode\r\n.\r\n");
            String r = c.reply();
            assertTrue(r, r.startsWith("250 2.0.0 Ok: queued as "));
            id = r.substring("250 2.0.0 Ok: queued as ".length()).trim();
            assertEquals("221 2.0.0 Bye", c.command("QUIT"));
        }
        MessageInfo m = queues.message(id).orElseThrow();
        assertEquals("alice@sender.test", m.envelope().sender().toString());
        assertEquals("env+1", m.envelope().envId());
        assertEquals(org.hermod.api.Envelope.Ret.HDRS, m.envelope().ret());
        assertTrue(m.envelope().recipients().get(0).wantsDelayNotice());
        assertEquals("rfc822;bob@accept.test", m.envelope().recipients().get(0).orcpt());
        assertTrue(m.headers(), m.headers().contains("Received: from client.test"));
        assertTrue(m.headers(), m.headers().contains("Message-ID: <" + id + "@hermod.test>"));
        String list = console("hermod:queue-list");
        assertTrue(list, list.contains("accept.test"));
        String show = console("hermod:queue-show " + id);
        assertTrue(show, show.contains("<bob@accept.test>") && show.contains("Subject: console check"));
    }

    @Test
    public void pipelinedCommandsAreAnsweredInOrder() throws Exception {
        try (SmtpTestClient c = client()) {
            c.send("EHLO p.test\r\nMAIL FROM:<p@sender.test>\r\nRCPT TO:<a@pipe.test>\r\nRCPT TO:<not-an-address>\r\n"
                    + "RCPT TO:<b@pipe.test>\r\nDATA\r\n");
            List<String> r = c.replies(6);
            assertTrue(r.get(0).startsWith("250-"));
            assertEquals("250 2.1.0 Ok", r.get(1));
            assertEquals("250 2.1.5 Ok", r.get(2));
            assertTrue(r.get(3), r.get(3).startsWith("501 5.1.3"));
            assertEquals("250 2.1.5 Ok", r.get(4));
            assertTrue(r.get(5).startsWith("354"));
            c.send("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<p@sender.test>\r\nRCPT TO:<c@pipe.test>\r\nDATA\r\n");
            r = c.replies(4);
            assertTrue(r.get(0), r.get(0).startsWith("250 2.0.0 Ok: queued as"));
            assertEquals("250 2.1.0 Ok", r.get(1));
            assertTrue(r.get(3).startsWith("354"));
            c.send("x\r\n.\r\nQUIT\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0"));
            assertTrue(c.reply().startsWith("221"));
        }
        assertEquals(2, queues.summaries().stream().filter(s -> s.domain().equals("pipe.test")).findFirst()
                .orElseThrow().messages());
    }

    @Test
    public void badInputGetsClearRepliesAndNothingIsQueued() throws Exception {
        int before = queues.queueIds(null, 100000).size();
        try (SmtpTestClient c = client()) {
            assertTrue(c.command("MAIL FROM:<a@b.test>").startsWith("503 5.5.1"));
            assertTrue(c.command("EHLO").startsWith("501 5.5.4"));
            assertTrue(c.command("EHLO bad.test").startsWith("250"));
            assertTrue(c.command("RCPT TO:<x@y.test>").startsWith("503 5.5.1"));
            assertTrue(c.command("FROB").startsWith("500 5.5.2"));
            assertTrue(c.command("VRFY root").startsWith("252"));
            assertTrue(c.command("MAIL FROM:<a@b.test> SIZE=999999999999").startsWith("552 5.3.4"));
            assertTrue(c.command("MAIL FROM:<a@b.test> BODY=BINARYMIME").startsWith("501 5.5.4"));
            assertTrue(c.command("MAIL FROM:<a@@b>").startsWith("501 5.1.7"));
            assertTrue(c.command("MAIL FROM:<a@b.test>").startsWith("250"));
            assertTrue(c.command("MAIL FROM:<a@b.test>").startsWith("503 5.5.1"));
            assertTrue(c.command("DATA").startsWith("554 5.5.1"));
            assertTrue(c.command("RCPT TO:<x@bad.test>").startsWith("250"));
            // bare LF in a command is no line ending
            c.send("NOOP\nNOOP\r\n");
            assertTrue(c.reply().startsWith("500 5.5.2"));
            assertTrue("one bad line, one reply: the next command is answered normally",
                    c.command("NOOP").startsWith("250"));
            // smuggling attempt inside the data: <LF>.<LF> must not end the message
            assertTrue(c.command("DATA").startsWith("354"));
            c.send("Subject: s\r\n\r\nx\n.\nMAIL FROM:<evil@x.test>\r\n.\r\n");
            assertTrue(c.reply().startsWith("554 5.5.2"));
            // an overlong line in the data
            assertTrue(c.command("MAIL FROM:<a@b.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<x@bad.test>").startsWith("250"));
            assertTrue(c.command("DATA").startsWith("354"));
            c.send("a".repeat(1500) + "\r\n.\r\n");
            assertTrue(c.reply().startsWith("554 5.6.0"));
            assertTrue(c.command("RSET").startsWith("250"));
        }
        assertEquals(before, queues.queueIds(null, 100000).size());
    }

    @Test
    public void limitsApplyLiveFromConfigAdmin() throws Exception {
        configure("maxMessageSize", "2000", "maxRecipients", "2", "mynetworks", "192.0.2.0/24",
                "relayDomains", "relay-ok.test", "maxErrors", "5");
        try {
            try (SmtpTestClient c = client()) {
                assertTrue(c.command("EHLO l.test").contains("SIZE 2000"));
                assertTrue(c.command("MAIL FROM:<a@b.test>").startsWith("250"));
                String denied = c.command("RCPT TO:<x@elsewhere.test>");
                assertTrue(denied, denied.startsWith("554 5.7.1") && denied.contains("Relay access denied"));
                assertTrue(c.command("RCPT TO:<x@relay-ok.test>").startsWith("250"));
                assertTrue(c.command("RCPT TO:<y@relay-ok.test>").startsWith("250"));
                assertTrue(c.command("RCPT TO:<z@relay-ok.test>").startsWith("452 4.5.3"));
                assertTrue(c.command("DATA").startsWith("354"));
                c.send("x".repeat(900) + "\r\n" + "y".repeat(900) + "\r\n" + "z".repeat(900) + "\r\n.\r\n");
                assertTrue(c.reply().startsWith("552 5.3.4"));
                // errors so far: the relay denial and the oversized message; three more close the session
                assertTrue(c.command("FROB").startsWith("500"));
                assertTrue(c.command("FROB").startsWith("500"));
                c.send("FROB\r\n");
                assertTrue(c.reply().startsWith("500"));
                String bye = c.reply();
                assertTrue(bye, bye.startsWith("421 4.7.0"));
                assertTrue(c.closedByServer());
            }
        } finally {
            configure("maxMessageSize", "36700160", "maxRecipients", "1000", "mynetworks", "127.0.0.0/8,::1/128",
                    "relayDomains", "", "maxErrors", "20");
        }
    }

    @Test
    public void conformanceRunFindingsAreFixed() throws Exception {
        try (SmtpTestClient c = client()) {
            // 100,000 octets without CRLF: answered at once, not after a line end that never comes
            c.send("x".repeat(100_000));
            long t0 = System.nanoTime();
            String r = c.reply();
            assertTrue(r, r.startsWith("500 5.5.2"));
            assertTrue("answered within 10 s", System.nanoTime() - t0 < 10_000_000_000L);
            c.send("\r\n");
            // a bare CR in EHLO is refused once, and the next well-formed EHLO works
            assertTrue(c.command("EHLO bad\rname.test").startsWith("500 5.5.2"));
            assertTrue(c.command("EHLO good.test").startsWith("250-hermod.test"));
        }
        try (SmtpTestClient c = client()) {
            assertTrue(c.command("HELO old.test").startsWith("250"));
            assertTrue("ESMTP parameters after HELO", c.command("MAIL FROM:<a@b.test> SIZE=100").startsWith("555"));
            assertTrue(c.command("MAIL FROM:<a@b.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<" + "l".repeat(64) + "@ok.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<" + "l".repeat(65) + "@ok.test>").startsWith("501 5.1.3"));
        }
    }

    @Test
    public void aClientDrippingBytesIsClosedWithinTheCommandLineBudget() throws Exception {
        configure("commandLineBudgetSeconds", "3");
        try (java.net.Socket sock = new java.net.Socket("127.0.0.1", port())) {
            sock.setSoTimeout(15000);
            java.io.InputStream in = sock.getInputStream();
            java.io.OutputStream out = sock.getOutputStream();
            out.write("EHLO drip.test\r\n".getBytes(StandardCharsets.US_ASCII));
            String text = readUntil(in, "250 HELP\r\n");
            assertTrue(text, text.startsWith("220 "));
            long t0 = System.nanoTime();
            StringBuilder reply = new StringBuilder();
            boolean closed = false;
            for (int i = 0; i < 60 && !closed; i++) {
                out.write('N');
                out.flush();
                // deliberate pacing: this test is about a client that sends one byte per second
                Thread.sleep(1000);
                while (in.available() > 0) {
                    int b = in.read();
                    if (b < 0) {
                        closed = true;
                        break;
                    }
                    reply.append((char) b);
                }
                closed |= reply.indexOf("\r\n") > 0;
            }
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            assertTrue("closed with 421 after " + seconds + " s: " + reply, reply.toString().startsWith("421 4.4.2")
                    && reply.toString().contains("command lines too slow"));
            assertTrue("within the 3 s budget plus a poll, not the 300 s command timeout: " + seconds, seconds <= 6);
            int eof;
            try {
                eof = in.read();
            } catch (java.net.SocketException reset) {
                eof = -1; // a byte we dripped reached the closed socket: the kernel answers with a reset
            }
            assertEquals("the server closed the connection", -1, eof);
        } finally {
            configure("commandLineBudgetSeconds", "30");
        }
    }

    private static String readUntil(java.io.InputStream in, String end) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while (!sb.toString().endsWith(end) && (b = in.read()) >= 0) {
            sb.append((char) b);
        }
        return sb.toString();
    }

    @Test
    public void perClientConnectionLimit() throws Exception {
        configure("maxConnectionsPerIp", "2");
        try (SmtpTestClient a = client(); SmtpTestClient b = client(); SmtpTestClient c = SmtpTestClient.connect(port())) {
            String r = c.reply();
            assertTrue(r, r.startsWith("421 4.7.0"));
            assertTrue(c.closedByServer());
        } finally {
            configure("maxConnectionsPerIp", "100");
        }
    }

    @Test
    public void swaksSubmitsWithPipelining() throws Exception {
        Process p = new ProcessBuilder("swaks", "--server", "127.0.0.1:" + port(), "--pipeline",
                "--from", "app@sender.test", "--to", "user@swaks.test,other@swaks.test", "--body", "from swaks \u00e9")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        String id = out.replaceAll("(?s).*queued as (\\S+).*", "$1");
        MessageInfo m = queues.message(id).orElseThrow(() -> new AssertionError(out));
        assertEquals(2, m.envelope().recipients().size());
        assertEquals("app@sender.test", m.envelope().sender().toString());
    }

    @Test
    public void postfixSmtpSourceLoadIsAllAccepted() throws Exception {
        int before = count("load.test");
        Process p = new ProcessBuilder("/usr/sbin/smtp-source", "-s", "10", "-m", "500", "-l", "2048",
                "-f", "load@sender.test", "-t", "rcpt@load.test", "127.0.0.1:" + port())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        assertEquals(before + 500, count("load.test"));
    }

    private int count(String domain) {
        return queues.summaries().stream().filter(s -> s.domain().equals(domain)).mapToInt(s -> s.messages()).sum();
    }
}
