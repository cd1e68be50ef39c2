package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.Site;
import org.junit.Test;

public class RulesTest {

    static final String RULES = String.join("\n",
            "# test rules",
            "version t1",
            "provider gmail mx=*.google.com,*.googlemail.com domains=gmail.com,googlemail.com",
            "provider yahoo mx=*.yahoodns.net",
            "limits connections=10 rate=100/s",                                   // 5
            "limits provider=gmail connections=5 messagesPerConnection=50",       // 6
            "limits site=alt1.gmail-smtp-in.l.google.com,gmail-smtp-in.l.google.com rate=20/s", // 7
            "limits domain=gmail.com recipients=10",                               // 8
            "limits source=new1 rate=1/s",                                         // 9
            "limits source=new1 provider=gmail connections=1",                     // 10
            "limits provider=gmail connections=4",                                 // 11: same rank, later wins
            "site-limits provider=gmail rate=50/s",
            "source-limits source=new1 rate=1000/h");

    static final Site GMAIL = new Site("alt1.gmail-smtp-in.l.google.com,gmail-smtp-in.l.google.com", null,
            List.of("gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com"));
    static final Site OTHER = new Site("mx.example.org", null, List.of("mx.example.org"));

    @Test
    public void providersAreFoundByMxSuffixThenDomain() {
        Rules r = RulesParser.parse("t.rules", RULES);
        assertEquals("gmail", r.providerOf(List.of("aspmx.l.google.com."), "corp.example"));
        assertEquals("gmail", r.providerOf(List.of(), "googlemail.com"));
        assertEquals("yahoo", r.providerOf(List.of("mta5.am0.yahoodns.net"), "yahoo.com"));
        assertNull(r.providerOf(List.of("mx.example.org"), "example.org"));
        assertNull("a suffix is not a substring", r.providerOf(List.of("notgoogle.com"), "x"));
    }

    @Test
    public void precedenceIsDefaultProviderSiteDomainSourceAndExplainNamesTheLine() {
        Rules r = RulesParser.parse("t.rules", RULES);
        assertTrue(r.errors().toString(), r.errors().isEmpty());
        Rules.Resolved other = r.resolve(OTHER, "example.org", "main");
        assertEquals(new Limits(10, 100, 100, 0, 100), other.limits());
        assertEquals("t.rules:5 default", other.origins().get("maxConnections"));
        assertEquals("default", other.origins().get("maxMessagesPerConnection"));

        Rules.Resolved g = r.resolve(GMAIL, "gmail.com", "main");
        assertEquals(4, g.limits().maxConnections());
        assertEquals("t.rules:11 provider=gmail", g.origins().get("maxConnections"));
        assertEquals(50, g.limits().maxMessagesPerConnection());
        assertEquals("t.rules:6 provider=gmail", g.origins().get("maxMessagesPerConnection"));
        assertEquals(20, g.limits().messagesPerSecond(), 1e-9);
        assertEquals("site beats provider and default", "t.rules:7 site=" + GMAIL.key(),
                g.origins().get("messagesPerSecond"));
        assertEquals(10, g.limits().maxRecipientsPerTransaction());
        assertEquals("t.rules:8 domain=gmail.com", g.origins().get("maxRecipientsPerTransaction"));

        Rules.Resolved n = r.resolve(GMAIL, "gmail.com", "new1");
        assertEquals("source-specific beats everything", 1, n.limits().maxConnections());
        assertEquals("t.rules:10 provider=gmail source=new1", n.origins().get("maxConnections"));
        assertEquals(1, n.limits().messagesPerSecond(), 1e-9);
        assertEquals("t.rules:9 source=new1", n.origins().get("messagesPerSecond"));
    }

    @Test
    public void totalsPerSiteAndPerSource() {
        Rules r = RulesParser.parse("t.rules", RULES);
        assertEquals(50, r.siteTotals(GMAIL, "gmail.com").messagesPerSecond(), 1e-9);
        assertEquals(0, r.siteTotals(OTHER, "example.org").messagesPerSecond(), 1e-9);
        assertEquals(1000.0 / 3600, r.sourceTotals("new1").messagesPerSecond(), 1e-9);
        assertEquals(0, r.sourceTotals("main").messagesPerSecond(), 1e-9);
    }

    @Test
    public void connectionCapsPerSiteAndPerSource() {
        Rules r = RulesParser.parse("t.rules", String.join("\n",
                "provider gmail mx=*.google.com domains=gmail.com",
                "site-limits provider=gmail connections=30",
                "source-limits source=new1 connections=8 rate=1000/h"));
        assertEquals(30, r.siteTotals(GMAIL, "gmail.com").maxConnections());
        assertEquals("no cap elsewhere", 0, r.siteTotals(OTHER, "example.org").maxConnections());
        assertEquals(8, r.sourceTotals("new1").maxConnections());
        assertEquals(1000.0 / 3600, r.sourceTotals("new1").messagesPerSecond(), 1e-9);
        assertEquals(0, r.sourceTotals("main").maxConnections());
        assertTrue("messagesPerConnection stays per path", RulesParser.parse("t.rules",
                "site-limits provider=gmail messagesPerConnection=5").errors().size() == 1);
    }

    @Test
    public void badLinesAreReportedWithTheirLineAndSkipped() {
        Rules r = RulesParser.parse("t.rules", String.join("\n", "limits connections=5",
                "limits speed=9", "on text=/x/ -> explode", "on reply=421 count=3 -> decrease 0.5",
                "frobnicate", "limits rate=10", "on text=/(/ -> suspend 1m", "limits connections=7"));
        assertEquals(r.errors().toString(), 6, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).startsWith("t.rules:2:"));
        assertEquals(7, r.resolve(OTHER, "example.org", "main").limits().maxConnections());
    }

    @Test
    public void responseRulesParseRegexesWithBlanksAndActions() {
        Rules r = RulesParser.parse("t.rules", "on provider=yahoo reply=421 status=4.7.0 text=/\\[TSS04\\] Messages from/"
                + " count=3 within=5m -> decrease 0.5 suspend 30m");
        assertTrue(r.errors().toString(), r.errors().isEmpty());
        ResponseRule rule = r.responses().get(0);
        assertEquals(3, rule.count());
        assertEquals(java.time.Duration.ofMinutes(5), rule.within());
        assertEquals(0.5, rule.decrease(), 1e-9);
        assertEquals(java.time.Duration.ofMinutes(30), rule.suspend());
        assertEquals("decrease x0.5, suspend 30m", rule.action());
    }

    @Test
    public void theShippedRulesFileParsesWithoutErrors() throws Exception {
        Path shipped = Paths.get("../../etc/hermod-shaping.rules");
        Rules r = RulesParser.parse("hermod-shaping.rules", Files.newBufferedReader(shipped));
        assertTrue(r.errors().toString(), r.errors().isEmpty());
        assertEquals("hermod-default-1", r.version());
        assertEquals("gmail", r.providerOf(List.of("gmail-smtp-in.l.google.com"), "gmail.com"));
        assertEquals("microsoft", r.providerOf(List.of("contoso-com.mail.protection.outlook.com"), "contoso.com"));
        assertEquals("microsoft", r.providerOf(List.of("hotmail-com.olc.protection.outlook.com"), "hotmail.com"));
        assertEquals("yahoo", r.providerOf(List.of("mta6.am0.yahoodns.net"), "aol.com"));
        assertEquals("apple", r.providerOf(List.of("mx01.mail.icloud.com"), "icloud.com"));
        Site yahoo = new Site("mta5.am0.yahoodns.net", "yahoo", List.of("mta5.am0.yahoodns.net"));
        Rules.Resolved y = r.resolve(yahoo, "yahoo.com", "main");
        assertEquals(20, y.limits().maxMessagesPerConnection());
        assertTrue(y.origins().get("maxMessagesPerConnection"),
                y.origins().get("maxMessagesPerConnection").startsWith("hermod-shaping.rules:"));
    }
}
