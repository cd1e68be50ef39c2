package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

import org.junit.Test;

import io.netty.buffer.Unpooled;

public class TraceHeadersTest {

    @Test
    public void anAuthenticatedNameCannotInjectHeaderFields() throws Exception {
        byte[] m = TraceHeaders.prepend(Unpooled.copiedBuffer("Subject: x\r\n\r\nbody\r\n", StandardCharsets.UTF_8),
                "Q1", "mx.test", new TraceHeaders.Origin("c", InetAddress.getByName("192.0.2.1"), true, false,
                        "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256", "u\r\nBcc: victim@x.test (", true),
                "<b@y.test>");
        String s = new String(m, StandardCharsets.UTF_8);
        assertTrue(s, s.contains("\t(Authenticated sender: u??Bcc: victim@x.test ?)\r\n"));
        assertTrue(s, s.contains("with ESMTPSA id Q1\r\n\tfor <b@y.test>; "));
        assertEquals("no header line starts with Bcc", -1, s.indexOf("\nBcc:"));
    }

    @Test
    public void theEhloNameCannotUnbalanceTheCommentOrMakeAnOverlongLine() {
        Harness h = new Harness(null);
        String name = "evil(x;by.victim\\" + "y".repeat(990 - 17);
        assertTrue(h.send("EHLO " + name + "\r\n").startsWith("250-"));
        String r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n");
        assertTrue(r, r.endsWith("250 2.0.0 Ok: queued as Q1\r\n"));
        String m = h.content(0);
        String first = m.substring(0, m.indexOf("\r\n"));
        assertTrue(first, first.startsWith("Received: from evil?x?by.victim?yyy"));
        assertTrue(first.length() + " octets", first.getBytes(StandardCharsets.UTF_8).length <= 300);
        for (String line : m.split("\r\n")) {
            assertTrue("header line under 998 octets", line.getBytes(StandardCharsets.UTF_8).length <= 998);
        }
        String header = m.substring(0, m.indexOf("\r\nSubject:"));
        assertEquals("one ';' (before the date) in Received:", header.indexOf(';'), header.lastIndexOf(';'));
        assertEquals("balanced comments", header.chars().filter(c -> c == '(').count(),
                header.chars().filter(c -> c == ')').count());
    }

    @Test
    public void aLongInternationalEhloNameIsCutOnACharacterBoundary() {
        String cut = TraceHeaders.heloName("\u00e9".repeat(200));
        assertEquals(127, cut.length()); // 2 octets each: 254 of 255
        assertEquals("unknown", TraceHeaders.heloName(null));
    }
}
