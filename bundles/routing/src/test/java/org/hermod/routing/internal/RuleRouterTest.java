package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.RouteTester;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.junit.Test;

public class RuleRouterTest {

    private static final SessionInfo SESSION = new SessionInfo("s", "192.0.2.10", "c.test", null, false, "default");

    private static RuleRouter router(String rules) throws Exception {
        Path f = Files.createTempFile("routing", ".rules");
        Files.writeString(f, rules);
        return new RuleRouter(new RulesWatcher(f));
    }

    private static RouteTester.Query query(String from, String... to) {
        return new RouteTester.Query(from, List.of(to), List.of(), "192.0.2.10", null, 1000);
    }

    @Test
    public void theShippedRulesFileParsesAndHasNoRules() throws Exception {
        Path shipped = Path.of("../../etc/hermod-routing.rules");
        RoutingRules r = RulesParser.parse("shipped", Files.newBufferedReader(shipped));
        assertEquals(0, r.size());
        assertTrue(r.stages().isEmpty());
        // and every example in its header is a valid rule
        int examples = 0;
        for (String line : Files.readAllLines(shipped)) {
            if (line.matches("# (connect|mail|rcpt|data) .*->.*")) {
                RulesParser.rule(1, line.substring(2));
                examples++;
            }
        }
        assertEquals(7, examples);
    }

    @Test
    public void rejectByRecipientDomainGlobAtRcpt() throws Exception {
        RuleRouter r = router("rcpt to-domain=*.blocked.test,blocked.test -> reject 550 5.7.1 \"Domain blocked\"\n");
        FilterDecision d = r.onRcpt(SESSION, MailAddress.parse("a@x.test"),
                Recipient.of(MailAddress.parse("b@sub.blocked.test")));
        assertEquals(FilterDecision.Action.REJECT, d.action());
        assertEquals(SmtpReply.of(550, "5.7.1", "Domain blocked"), d.reply());
        assertEquals(FilterDecision.Action.CONTINUE, r.onRcpt(SESSION, MailAddress.parse("a@x.test"),
                Recipient.of(MailAddress.parse("b@fine.test"))).action());
    }

    @Test
    public void firstMatchWinsUnlessContinue() throws Exception {
        RuleRouter r = router("""
                mail from-domain=news.test -> pool=marketing tenant=acme continue
                mail from=/^promo-[0-9]+@/ -> campaign=promo priority=5
                mail any -> pool=never
                """);
        FilterDecision d = r.onMail(SESSION, MailAddress.parse("promo-12@news.test"), Map.of());
        Route route = d.route().applyTo(Route.DEFAULT);
        assertEquals("marketing", route.pool());
        assertEquals("acme", route.tenant());
        assertEquals("promo", route.campaign());
        assertEquals(5, route.priority());
        Route other = r.onMail(SESSION, MailAddress.parse("x@other.test"), Map.of()).route().applyTo(Route.DEFAULT);
        assertEquals("never", other.pool());
    }

    @Test
    public void clientNetworksUserAndNegation() throws Exception {
        RuleRouter r = router("""
                connect client=198.51.100.0/24,2001:db8::/32 -> defer 421 4.7.0 "Slow down"
                mail user=- !client=192.0.2.0/24 -> reject 530 5.7.0 "Authentication required"
                mail user=acme-* -> tenant=acme
                """);
        assertEquals(FilterDecision.Action.DEFER, r.onConnect(new SessionInfo("s", "198.51.100.9", null, null, false,
                "d")).action());
        assertEquals(FilterDecision.Action.DEFER, r.onConnect(new SessionInfo("s", "2001:db8::5", null, null, false,
                "d")).action());
        assertEquals(FilterDecision.Action.CONTINUE, r.onConnect(SESSION).action());
        SessionInfo outside = new SessionInfo("s", "203.0.113.5", null, null, false, "d");
        assertEquals(530, r.onMail(outside, MailAddress.parse("a@x.test"), Map.of()).reply().code());
        assertEquals(FilterDecision.Action.CONTINUE, r.onMail(SESSION, MailAddress.parse("a@x.test"), Map.of())
                .action());
        SessionInfo acme = new SessionInfo("s", "203.0.113.5", null, "acme-web", true, "d");
        assertEquals("acme", r.onMail(acme, MailAddress.parse("a@x.test"), Map.of()).route().tenant());
    }

    @Test
    public void dataRulesSeeHeadersSizeAndEveryRecipient() throws Exception {
        RuleRouter r = router("""
                data header:Subject="*big sale*" -> add-header X-Class "bulk" remove-header X-Internal continue
                data size>1k -> hold "too big for review"
                data to-domain=vip.test -> priority=9 smarthost=[127.0.0.1]:2526
                """);
        byte[] small = "Subject: A BIG SALE now\r\nX-Internal: 1\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII);
        Envelope env = Envelope.local(MailAddress.parse("a@x.test"), List.of(Recipient.of(MailAddress.parse(
                "p@plain.test")), Recipient.of(MailAddress.parse("v@vip.test"))), Envelope.BodyType.SEVEN_BIT);
        FilterDecision d = r.onData(SESSION, env, Route.DEFAULT, new MessageContent(small));
        assertEquals(List.of(new HeaderField("X-Class", "bulk")), d.headersAdded());
        assertEquals(List.of("X-Internal"), d.headersRemoved());
        assertEquals(9, d.route().priority().intValue());
        assertEquals("[127.0.0.1]:2526", d.route().smarthost());
        byte[] big = ("Subject: hello\r\n\r\n" + "x".repeat(2000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        FilterDecision held = r.onData(SESSION, env, Route.DEFAULT, new MessageContent(big));
        assertEquals(FilterDecision.Action.HOLD, held.action());
        assertEquals("too big for review", held.holdReason());
    }

    @Test
    public void routeTestSaysWhichRuleMatchedWhyAndTheRoute() throws Exception {
        RuleRouter r = router("""
                # comment
                mail from-domain=news.test -> pool=marketing
                rcpt to-domain=partner.test -> smarthost=relay.partner.test:2525 tenant=p
                data header:X-Tier=gold -> add-header X-Routed "gold"
                """);
        RouteTester.Result res = r.test(new RouteTester.Query("n@news.test", List.of("b@partner.test"),
                List.of(new HeaderField("X-Tier", "gold")), "192.0.2.1", null, 100));
        assertEquals(FilterDecision.Action.CONTINUE, res.action());
        assertEquals("marketing", res.route().pool());
        assertEquals("relay.partner.test:2525", res.route().smarthost());
        assertEquals(3, res.matches().size());
        RouteTester.Match m = res.matches().get(1);
        assertEquals("rcpt", m.stage());
        assertEquals("b@partner.test", m.subject());
        assertEquals(3, m.line());
        assertEquals("to-domain=partner.test matched b@partner.test", m.why());
        assertEquals(List.of(new HeaderField("X-Routed", "gold")), res.headersAdded());

        RuleRouter rej = router("rcpt to-domain=no.test -> reject\n");
        RouteTester.Result refused = rej.test(query("a@x.test", "b@no.test"));
        assertEquals(FilterDecision.Action.REJECT, refused.action());
        assertEquals(SmtpReply.of(550, "5.7.1", "Rejected by routing policy"), refused.reply());
        assertNull(rej.test(query("a@x.test", "b@no.test", "c@yes.test")).reply());
    }

    @Test
    public void badLinesAreRefusedWithTheirLineNumber() {
        String[] bad = {
            "rcpt to-domain=x.test", // no arrow
            "rcpt to-domain=x.test ->", // no action
            "mail to=x@y -> pool=a", // to unknown at mail
            "rcpt header:Subject=x -> pool=a", // header only at data
            "rcpt any -> hold", // hold only at data
            "data any -> reject 450 4.7.1 \"x\"", // reject with a 4xx
            "data any -> defer 550", // defer with a 5xx
            "data any -> reject discard", // two final actions
            "data any -> hold continue", // continue with a final action
            "mail any -> smarthost=bad host:99999", // bad smarthost
            "mail from=/[unclosed/ -> pool=a", // bad regex
            "connect client=999.1.1.1/8 -> reject", // bad network
            "connect client=not-an-ip -> reject", // names are not looked up
            "mail size>ten -> pool=a",
            "fly any -> pool=a", // unknown stage
            "mail colour=red -> pool=a", // unknown condition
            "mail any -> paint=red", // unknown action
            "data any -> add-header \"X-A\"", // missing value
            "mail any -> pool=a \"stray\"",
            "mail from=\"unclosed -> pool=a",
        };
        for (String b : bad) {
            try {
                RulesParser.parse("t", new StringReader("# ok\nmail any -> pool=a\n" + b + "\n"));
                fail("accepted: " + b);
            } catch (RulesParser.RulesException e) {
                assertEquals(b, 3, e.line);
            } catch (Exception e) {
                fail(b + ": " + e);
            }
        }
    }

    @Test
    public void aBadEditKeepsThePreviousRulesAndAGoodOneApplies() throws Exception {
        Path f = Files.createTempFile("routing", ".rules");
        Files.writeString(f, "rcpt to-domain=a.test -> pool=one\n");
        RulesWatcher w = new RulesWatcher(f);
        RuleRouter r = new RuleRouter(w);
        MailAddress from = MailAddress.parse("s@x.test");
        Recipient a = Recipient.of(MailAddress.parse("u@a.test"));
        assertEquals("one", r.onRcpt(SESSION, from, a).route().pool());

        Files.writeString(f, "rcpt to-domain=a.test -> pool=two\nrcpt oops\n");
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 2000));
        w.check();
        assertEquals("one", r.onRcpt(SESSION, from, a).route().pool());
        assertTrue(w.lastError(), w.lastError().startsWith("line 2: "));

        Files.writeString(f, "rcpt to-domain=a.test -> pool=three\n");
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 4000));
        w.check();
        assertEquals("three", r.onRcpt(SESSION, from, a).route().pool());
        assertNull(w.lastError());
        assertEquals(java.util.Set.of(Stage.RCPT), w.rules().stages());

        Files.delete(f);
        w.check();
        assertEquals(0, w.rules().size());
    }
}
