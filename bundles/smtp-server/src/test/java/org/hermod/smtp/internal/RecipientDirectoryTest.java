package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.hermod.api.MailAddress;
import org.hermod.smtp.internal.RecipientVerifier.Result;
import org.junit.Test;

/** LDAP recipient lookups: filter escaping (RFC 4515), caching, plus-addressing, an unreachable directory. */
public class RecipientDirectoryTest {

    private final List<String> searched = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong clock = new AtomicLong();
    private volatile boolean down;

    /** A directory holding alice@corp.test and bob@corp.test (the search matches the filter text). */
    private RecipientDirectory directory(String template) {
        return new RecipientDirectory(Set.of("corp.test"), template, filter -> {
            searched.add(filter);
            if (down) {
                throw new javax.naming.CommunicationException("connection refused");
            }
            return filter.contains("=alice@corp.test)") || filter.contains("=bob@corp.test)");
        }, 2, 60, 10, clock::get, "test");
    }

    private Result lookup(RecipientDirectory d, String address) throws Exception {
        return d.lookup(MailAddress.parse(address), "+").toCompletableFuture().get(5, TimeUnit.SECONDS).result();
    }

    @Test
    public void valuesAreEscapedPerRfc4515SoAnAddressCannotChangeTheFilter() {
        assertEquals("a\\2a\\28\\29\\5c\\00b", LdapFilters.escape("a*()\\\u0000b"));
        assertEquals("(mail=\\2a@corp.test)", LdapFilters.expand("(mail=%s)", "*", "corp.test"));
        assertEquals("(&(uid=x\\29\\28objectClass=\\2a)(mail=*@corp.test))",
                LdapFilters.expand("(&(uid=%u)(mail=*@%d))", "x)(objectClass=*", "corp.test"));
        assertEquals("(mail=j\u00f6rg@corp.test)", LdapFilters.expand("(mail=%s)", "j\u00f6rg", "corp.test"));
        assertEquals("(x=100%)", LdapFilters.expand("(x=100%%)", "u", "d"));
    }

    @Test
    public void badTemplatesAreRefusedAtConfigurationTime() {
        for (String bad : new String[] {"(mail=%x)", "mail=%s", "(mail=%s", "(cn=fixed)"}) {
            try {
                LdapFilters.validate(bad);
                fail(bad);
            } catch (IllegalArgumentException expected) {
                // refused
            }
        }
        LdapFilters.validate("(|(mail=%s)(mailAlternateAddress=%s))");
    }

    @Test
    public void anEntryMeansValidNoneMeansUnknownAndAQuotedStarMatchesNothing() throws Exception {
        RecipientDirectory d = directory("(mail=%s)");
        assertEquals(Result.VALID, lookup(d, "alice@corp.test"));
        assertEquals(Result.UNKNOWN_USER, lookup(d, "carol@corp.test"));
        assertEquals(Result.UNKNOWN_USER, lookup(d, "\"*\"@corp.test"));
        String last = searched.get(searched.size() - 1);
        assertTrue(last, last.contains("\\2a") && !last.contains("*"));
    }

    @Test
    public void answersAreCachedForTheirTtlsBothWays() throws Exception {
        RecipientDirectory d = directory("(mail=%s)");
        assertEquals(Result.VALID, lookup(d, "alice@corp.test"));
        assertEquals(Result.UNKNOWN_USER, lookup(d, "carol@corp.test"));
        assertEquals(Result.VALID, lookup(d, "ALICE@corp.test")); // case-insensitive key
        assertEquals(2, searched.size());
        down = true; // cached answers do not need the server
        clock.addAndGet(TimeUnit.SECONDS.toNanos(9));
        assertEquals(Result.VALID, lookup(d, "alice@corp.test"));
        assertEquals(Result.UNKNOWN_USER, lookup(d, "carol@corp.test"));
        assertEquals(2, searched.size());
        clock.addAndGet(TimeUnit.SECONDS.toNanos(2)); // negative TTL (10 s) over, positive (60 s) not
        assertEquals(Result.TRY_LATER, lookup(d, "carol@corp.test"));
        assertEquals(Result.VALID, lookup(d, "alice@corp.test"));
        assertEquals(3, searched.size());
    }

    @Test
    public void anUnreachableDirectoryMeansTryLaterAndIsNotCached() throws Exception {
        RecipientDirectory d = directory("(mail=%s)");
        down = true;
        assertEquals(Result.TRY_LATER, lookup(d, "alice@corp.test"));
        down = false;
        assertEquals(Result.VALID, lookup(d, "alice@corp.test"));
    }

    @Test
    public void anAddressExtensionIsLookedUpWithoutItWhenTheFullAddressIsUnknown() throws Exception {
        RecipientDirectory d = directory("(mail=%s)");
        assertEquals(Result.VALID, lookup(d, "bob+news@corp.test"));
        assertEquals(List.of("(mail=bob+news@corp.test)", "(mail=bob@corp.test)"), searched);
        assertEquals(Result.UNKNOWN_USER, lookup(d, "+bob@corp.test"));
        assertEquals(Result.UNKNOWN_USER, d.lookup(MailAddress.parse("bob-x@corp.test"), "")
                .toCompletableFuture().get().result());
    }

    @Test
    public void theDirectoryServesItsDomainsAndTheirSubdomainsOnly() {
        RecipientDirectory d = directory("(mail=%s)");
        assertTrue(d.serves("corp.test"));
        assertTrue(d.serves("EU.Corp.Test"));
        assertFalse(d.serves("notcorp.test"));
        assertFalse(d.serves("test"));
    }

    @Test
    public void closingAnswersWaitingLookupsInsteadOfLeavingSessionsHanging() throws Exception {
        CountDownLatch stuck = new CountDownLatch(1);
        RecipientDirectory d = new RecipientDirectory(Set.of("corp.test"), "(mail=%s)", filter -> {
            stuck.await();
            return true;
        }, 1, 60, 10, clock::get, "test");
        var running = d.lookup(MailAddress.parse("a@corp.test"), "").toCompletableFuture();
        var queued = d.lookup(MailAddress.parse("b@corp.test"), "").toCompletableFuture();
        d.close();
        assertEquals(Result.TRY_LATER, running.get(5, TimeUnit.SECONDS).result());
        assertEquals(Result.TRY_LATER, queued.get(5, TimeUnit.SECONDS).result());
        assertEquals(Result.TRY_LATER, d.lookup(MailAddress.parse("c@corp.test"), "").toCompletableFuture()
                .get(5, TimeUnit.SECONDS).result());
        stuck.countDown();
    }

    @Test
    public void theSessionRefusesUnknownRecipientsAndDefersWhenTheDirectoryIsDown() throws Exception {
        RecipientDirectory d = directory("(mail=%s)");
        Harness h = new Harness(s -> s.withDirectory(d), RecipientMap.of("@corp.test"), null,
                "relayDomains", new String[] {"corp.test"}, "mynetworks", new String[] {"10.0.0.0/8"});
        h.send("EHLO c.test\r\nMAIL FROM:<a@x.test>\r\n");
        assertEquals("250 2.1.5 Ok\r\n", h.sendAndAwait("RCPT TO:<alice@corp.test>\r\n"));
        assertEquals("the directory decides, not the map's catch-all",
                "550 5.1.1 <carol@corp.test>: Recipient address rejected: User unknown in relay recipient table\r\n",
                h.sendAndAwait("RCPT TO:<carol@corp.test>\r\n"));
        down = true;
        assertEquals("451 4.4.3 <dave@corp.test>: Recipient address rejected: recipient directory not available,"
                + " try again later\r\n", h.sendAndAwait("RCPT TO:<dave@corp.test>\r\n"));
        String r = h.sendAndAwait("RCPT TO:<x@elsewhere.test>\r\n");
        assertTrue(r, r.startsWith("554 5.7.1"));
    }
}
