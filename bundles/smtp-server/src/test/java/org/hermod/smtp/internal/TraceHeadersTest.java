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
}
