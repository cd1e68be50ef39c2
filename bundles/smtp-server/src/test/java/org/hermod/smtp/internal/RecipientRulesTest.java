package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import org.hermod.api.MailAddress;
import org.junit.Test;

/** Recipient validation for relay domains, and addresses that try to route onwards through a relay domain. */
public class RecipientRulesTest {

    /** Loopback (the EmbeddedChannel's client) is not in mynetworks here: an untrusted stranger. */
    private static final Object[] STRANGER = {"mynetworks", new String[] {"10.99.0.0/16"}};

    private static String rcpt(Harness h, String address) {
        h.send("RSET\r\nMAIL FROM:<a@x.test>\r\n");
        return h.send("RCPT TO:<" + address + ">\r\n");
    }

    @Test
    public void unknownRecipientsOfACoveredRelayDomainAreRefusedAtRcpt() {
        Harness h = new Harness(RecipientMap.of("alice@relay.test", "# comment", "@catchall.relay.test"), STRANGER);
        h.send("EHLO c\r\n");
        assertTrue(rcpt(h, "alice@relay.test").startsWith("250"));
        assertTrue(rcpt(h, "ALICE@Relay.Test").startsWith("250"));
        assertTrue("plus-addressing", rcpt(h, "alice+news@relay.test").startsWith("250"));
        String r = rcpt(h, "bob@relay.test");
        assertTrue(r, r.startsWith("550 5.1.1 <bob@relay.test>: Recipient address rejected"));
        assertTrue(rcpt(h, "anyone@catchall.relay.test").startsWith("250"));
        assertTrue("a subdomain of a covered domain is covered", rcpt(h, "x@other.relay.test").startsWith("550 5.1.1"));
    }

    @Test
    public void subdomainsOfACoveredRelayDomainAreCheckedToo() {
        // relayDomains=relay.test relays nosuch.relay.test as well: the map must not let it through unchecked
        Harness h = new Harness(RecipientMap.of("alice@relay.test", "bob@sub.relay.test", "@any.relay.test"), STRANGER);
        h.send("EHLO c\r\n");
        String r = rcpt(h, "x@nosuch.relay.test");
        assertTrue(r, r.startsWith("550 5.1.1 <x@nosuch.relay.test>"));
        assertTrue(rcpt(h, "x@deep.nosuch.relay.test").startsWith("550 5.1.1"));
        assertTrue("an entry for the parent accepts nothing in a subdomain", rcpt(h, "alice@nosuch.relay.test")
                .startsWith("550 5.1.1"));
        assertTrue(rcpt(h, "bob@sub.relay.test").startsWith("250"));
        assertTrue(rcpt(h, "bob@SUB.relay.test").startsWith("250"));
        assertTrue(rcpt(h, "anyone@any.relay.test").startsWith("250"));
        assertTrue("a wildcard is for its own domain only", rcpt(h, "anyone@x.any.relay.test").startsWith("550 5.1.1"));
        RecipientMap m = RecipientMap.of("alice@relay.test");
        assertTrue(m.covers("nosuch.relay.test"));
        assertFalse(m.covers("relay.test.example"));
        assertFalse(m.covers("notrelay.test"));
        assertFalse(m.accepts(new MailAddress("x", "nosuch.relay.test"), "+"));
    }

    @Test
    public void plusAddressingCanBeTurnedOff() {
        Harness h = new Harness(RecipientMap.of("alice@relay.test"), "recipientDelimiter", "");
        h.send("EHLO c\r\n");
        assertTrue(rcpt(h, "alice+news@relay.test").startsWith("550 5.1.1"));
        RecipientMap m = RecipientMap.of("alice@relay.test");
        assertTrue(m.accepts(new MailAddress("alice-x", "relay.test"), "+-"));
        assertFalse(m.accepts(new MailAddress("+x", "relay.test"), "+"));
    }

    @Test
    public void routingTricksNeverWidenRelaying() {
        Harness h = new Harness(null, STRANGER);
        h.send("EHLO c\r\n");
        assertTrue(rcpt(h, "user@relay.test").startsWith("250"));
        assertTrue(rcpt(h, "user%victim.test@relay.test").startsWith("550 5.7.1"));
        assertTrue(rcpt(h, "victim.test!user@relay.test").startsWith("550 5.7.1"));
        assertTrue(rcpt(h, "\"user@victim.test\"@relay.test").startsWith("550 5.7.1"));
        assertTrue("a source route is ignored; the mailbox decides",
                rcpt(h, "@relay.test:user@victim.test").startsWith("554 5.7.1"));
        assertTrue(rcpt(h, "user@victim.test.").startsWith("501"));
        assertTrue(rcpt(h, "user@relay.test.").startsWith("501"));
        assertTrue(rcpt(h, "user@[192.0.2.1]").startsWith("554 5.7.1"));
        assertTrue(h.spool.envelopes.isEmpty());
    }

    @Test
    public void trustedNetworksMayUseRoutingCharacters() {
        Harness h = new Harness(null); // loopback is in the default mynetworks
        h.send("EHLO c\r\n");
        assertTrue(rcpt(h, "user%host@relay.test").startsWith("250"));
    }

    @Test
    public void theMapFileIsReloadedWhenItChanges() throws Exception {
        Path f = Files.createTempFile("hermod-rcpt", ".txt");
        try {
            Files.writeString(f, "alice@relay.test\n");
            RecipientMap m = new RecipientMap(f);
            assertFalse(m.accepts(new MailAddress("bob", "relay.test"), "+"));
            Files.writeString(f, "alice@relay.test\nbob@relay.test\n");
            Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 10_000));
            m.reloadIfChanged();
            assertTrue(m.accepts(new MailAddress("bob", "relay.test"), "+"));
            Files.delete(f);
            m.reloadIfChanged();
            assertTrue("no file: nothing covered", m.accepts(new MailAddress("carol", "relay.test"), "+"));
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    public void perClientLimitsForStrangersOnly() {
        Harness h = new Harness(null, "mynetworks", new String[] {"10.99.0.0/16"}, "maxMessagesPerIpPerMinute", 2,
                "maxErrorsPerIpPerMinute", 3);
        h.send("EHLO c\r\n");
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\nRSET\r\nMAIL FROM:<a@x.test>\r\nRSET\r\n").contains("250 2.1.0"));
        assertTrue(h.send("MAIL FROM:<a@x.test>\r\n").startsWith("450 4.7.1"));
        h.send("FOO\r\nFOO\r\nFOO\r\n"); // three errors are allowed, the fourth is over the limit
        String r = h.send("FOO\r\n");
        assertTrue(r, r.contains("421 4.7.0 mx.test Error: too many errors from your address"));
        assertFalse(h.ch.isActive());
        assertEquals(1, h.rates.clients());
    }
}
