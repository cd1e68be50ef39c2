package org.hermod.smtp.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.junit.Test;

public class SaslExchangeTest {

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String reply(SaslExchange.Step s) {
        return s instanceof SaslExchange.Failure f ? f.reply() : ((SaslExchange.Challenge) s).line();
    }

    @Test
    public void plainWithAndWithoutInitialResponse() {
        SaslExchange x = new SaslExchange();
        SaslExchange.Credentials c = (SaslExchange.Credentials) x.start("PLAIN " + b64("\0j\u00f6rg\0p w"));
        assertEquals("j\u00f6rg", c.user());
        assertArrayEquals("p w".toCharArray(), c.password());
        assertEquals("334 ", reply(x.start("plain")));
        assertTrue(x.inProgress());
        assertEquals("u", ((SaslExchange.Credentials) x.next(b64("u\0u\0pw"))).user());
        assertFalse(x.inProgress());
    }

    @Test
    public void loginAsksForUserThenPassword() {
        SaslExchange x = new SaslExchange();
        assertEquals("334 VXNlcm5hbWU6", reply(x.start("LOGIN")));
        assertEquals("334 UGFzc3dvcmQ6", reply(x.next(b64("u"))));
        SaslExchange.Credentials c = (SaslExchange.Credentials) x.next(b64("secret"));
        assertEquals("u", c.user());
        assertArrayEquals("secret".toCharArray(), c.password());
        assertEquals("334 UGFzc3dvcmQ6", reply(x.start("LOGIN " + b64("v"))));
        assertTrue("the empty response '='", x.next("=") instanceof SaslExchange.Credentials);
    }

    @Test
    public void badResponsesEndTheExchange() {
        SaslExchange x = new SaslExchange();
        assertTrue(reply(x.start("PLAIN not-base64!")).startsWith("501 5.5.2"));
        assertTrue(reply(x.start("PLAIN " + b64("only-one-part"))).startsWith("501 5.5.2"));
        assertTrue("no proxy authorization", reply(x.start("PLAIN " + b64("admin\0u\0p"))).startsWith("535 5.7.8"));
        assertTrue(reply(x.start("CRAM-MD5")).startsWith("504 5.5.4"));
        x.start("LOGIN");
        assertTrue(reply(x.next("*")).startsWith("501 5.7.0"));
        assertFalse(x.inProgress());
    }
}
