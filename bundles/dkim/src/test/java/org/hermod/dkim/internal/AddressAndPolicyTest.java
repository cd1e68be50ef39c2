package org.hermod.dkim.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.List;

import org.hermod.api.filter.SessionInfo;
import org.junit.Test;

/** The From: domain, the h= list and who gets signed. */
public class AddressAndPolicyTest {

    @Test
    public void domainOfTheFirstFromMailbox() {
        assertEquals("example.com", SenderDomain.ofMailboxList(" Joe <joe@Example.COM>"));
        assertEquals("example.com", SenderDomain.ofMailboxList("joe@example.com (Joe, of a@b.test)"));
        assertEquals("example.com", SenderDomain.ofMailboxList("\"a@evil.test <x@evil.test>\" <joe@example.com>"));
        assertEquals("example.com", SenderDomain.ofMailboxList("joe@example.com, ann@other.test"));
        assertEquals("example.com", SenderDomain.ofMailboxList("team: joe@example.com, ann@other.test;"));
        assertEquals("xn--bcher-kva.example", SenderDomain.ofMailboxList("<joe@b\u00fccher.example>"));
        assertNull(SenderDomain.ofMailboxList("undisclosed"));
        assertNull(SenderDomain.ofMailboxList("<joe@[192.0.2.1]>"));
    }

    @Test
    public void signedNamesCountInstancesAndOversign() {
        List<RawHeader> h = List.of(RawHeader.of("Received: x"), RawHeader.of("From: a@example.com"),
                RawHeader.of("To: b@x.test"), RawHeader.of("Received: y"), RawHeader.of("To: c@x.test"),
                RawHeader.of("X-Other: z"), RawHeader.of("Content-Type: text/plain"));
        assertEquals(List.of("from", "from", "to", "to", "to", "content-type"),
                HeaderPolicy.parse("From, To, Reply-To, Content-Type", "To").namesFor(h));
        assertEquals("From is listed once more than it occurs, also when absent and unlisted", List.of("from"),
                HeaderPolicy.parse("Subject", "").namesFor(List.of(RawHeader.of("X: y"))));
    }

    @Test
    public void signingClients() {
        SigningClients c = SigningClients.parse("authenticated, 127.0.0.0/8, ::1, 192.0.2.0/25");
        assertTrue(c.signs(new SessionInfo("1", "127.0.0.5", "h", null, false, "default")));
        assertTrue(c.signs(new SessionInfo("1", "::1", "h", null, false, "default")));
        assertTrue(c.signs(new SessionInfo("1", "192.0.2.127", "h", null, false, "default")));
        assertFalse(c.signs(new SessionInfo("1", "192.0.2.128", "h", null, false, "default")));
        assertTrue(c.signs(new SessionInfo("1", "203.0.113.1", "h", "ann", true, "submission")));
        assertFalse(c.signs(new SessionInfo("1", "203.0.113.1", "h", null, true, "submission")));
        assertFalse(SigningClients.parse("127.0.0.1").signs(new SessionInfo("1", "198.51.100.1", "h", "ann", true,
                "submission")));
        assertTrue(SigningClients.parse("").signs(SessionInfo.local("dsn")));
        try {
            SigningClients.parse("mail.example.com");
            throw new AssertionError("a host name was accepted (it would need a DNS lookup)");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("mail.example.com"));
        }
    }
}
