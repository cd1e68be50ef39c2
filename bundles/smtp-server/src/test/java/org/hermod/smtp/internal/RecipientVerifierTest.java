package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Recipient verification by SMTP callout against a scripted next hop on a real socket. */
public class RecipientVerifierTest {

    private ServerSocket peer;
    private Thread peerThread;
    private final AtomicInteger probes = new AtomicInteger();
    private RecipientVerifier verifier;

    /** Knows "known@..."; says 451 for "busy@..."; 550 for everyone else. */
    @Before
    public void scriptedNextHop() throws Exception {
        peer = new ServerSocket(0);
        peerThread = new Thread(() -> {
            while (!peer.isClosed()) {
                try (Socket s = peer.accept()) {
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    OutputStream out = s.getOutputStream();
                    out.write("220 next.test ESMTP\r\n".getBytes(StandardCharsets.UTF_8));
                    String line;
                    while ((line = in.readLine()) != null) {
                        String reply;
                        if (line.startsWith("EHLO")) {
                            reply = "250-next.test\r\n250 8BITMIME";
                        } else if (line.startsWith("RCPT TO:<known@")) {
                            probes.incrementAndGet();
                            reply = "250 2.1.5 ok";
                        } else if (line.startsWith("RCPT TO:<busy@")) {
                            probes.incrementAndGet();
                            reply = "451 4.3.0 try later";
                        } else if (line.startsWith("RCPT")) {
                            probes.incrementAndGet();
                            reply = "550 5.1.1 no such user here";
                        } else if (line.startsWith("QUIT")) {
                            out.write("221 bye\r\n".getBytes(StandardCharsets.UTF_8));
                            break;
                        } else {
                            reply = "250 ok";
                        }
                        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
                    }
                } catch (java.io.IOException e) {
                    // closed by the test
                }
            }
        }, "scripted-next-hop");
        peerThread.setDaemon(true);
        peerThread.start();
        verifier = new RecipientVerifier("127.0.0.1:" + peer.getLocalPort(), "mx.test", 5, 3600, 600);
    }

    @After
    public void stop() throws Exception {
        verifier.close();
        peer.close();
        peerThread.join(5000);
    }

    private static String rcpt(Harness h, String address) throws InterruptedException {
        h.send("RSET\r\nMAIL FROM:<a@x.test>\r\n");
        return h.sendAndAwait("RCPT TO:<" + address + ">\r\n");
    }

    @Test
    public void unknownRecipientsAreRefusedAtRcptAndAnswersAreCached() throws Exception {
        Harness h = new Harness(null, verifier, "mynetworks", new String[] {"10.99.0.0/16"});
        h.send("EHLO c\r\n");
        assertTrue(rcpt(h, "known@relay.test").startsWith("250 2.1.5"));
        String r = rcpt(h, "nobody@relay.test");
        assertTrue(r, r.startsWith("550 5.1.1 <nobody@relay.test>: Recipient address rejected: undeliverable address:"
                + " 550 5.1.1 no such user here"));
        assertTrue(rcpt(h, "busy@relay.test").startsWith("450 4.1.1"));
        assertEquals(3, probes.get());
        // cached: no new callouts for known answers; a temporary failure is asked again
        assertTrue(rcpt(h, "known@relay.test").startsWith("250"));
        assertTrue(rcpt(h, "nobody@relay.test").startsWith("550 5.1.1"));
        assertTrue(rcpt(h, "busy@relay.test").startsWith("450"));
        assertEquals(4, probes.get());
    }

    @Test
    public void pipelinedCommandsWaitForTheVerdictAndKeepTheirOrder() throws Exception {
        Harness h = new Harness(null, verifier, "mynetworks", new String[] {"10.99.0.0/16"});
        h.send("EHLO c\r\n");
        String r = h.sendAndAwait("MAIL FROM:<a@x.test>\r\nRCPT TO:<nobody@relay.test>\r\nRCPT TO:<known@relay.test>\r\n"
                + "DATA\r\n");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!r.contains("354") && System.nanoTime() < deadline) {
            r += h.sendAndAwait("");
        }
        int a = r.indexOf("550 5.1.1");
        int b = r.indexOf("250 2.1.5");
        int c = r.indexOf("354");
        assertTrue(r, a > 0 && a < b && b < c);
    }

    @Test
    public void trustedClientsAndOtherDomainsAreNotVerified() throws Exception {
        Harness h = new Harness(null, verifier); // loopback is in the default mynetworks
        h.send("EHLO c\r\n");
        assertTrue(rcpt(h, "nobody@relay.test").startsWith("250"));
        Harness s = new Harness(RecipientMap.of("nobody@relay.test"), verifier, "mynetworks", new String[] {"10.99.0.0/16"});
        s.send("EHLO c\r\n");
        assertTrue("the recipient map is authoritative for its domains", rcpt(s, "nobody@relay.test").startsWith("250"));
        assertEquals(0, probes.get());
    }

    @Test
    public void anUnreachableNextHopMeansTryLater() throws Exception {
        int dead;
        try (ServerSocket t = new ServerSocket(0)) {
            dead = t.getLocalPort();
        }
        RecipientVerifier v = new RecipientVerifier("127.0.0.1:" + dead, "mx.test", 2, 3600, 600);
        try {
            Harness h = new Harness(null, v, "mynetworks", new String[] {"10.99.0.0/16"});
            h.send("EHLO c\r\n");
            assertTrue(rcpt(h, "known@relay.test").startsWith("450 4.1.1"));
        } finally {
            v.close();
        }
    }
}
