package org.hermod.bounce.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;

import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.internal.rules.Evidence;
import org.hermod.bounce.internal.rules.RuleLoader;
import org.hermod.bounce.internal.rules.RuleParser;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class RuleEngineTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void parsesConditionsAndReportsBadLinesWithoutDroppingTheRest() throws Exception {
        RuleParser.Result r = RuleParser.parse("t", new StringReader(String.join("\n",
                "# comment",
                "a code=55x status=5.1.* text=/no such user/ provider=example.com => bad-mailbox permanent",
                "b frobnicate=1 => other",
                "c kind=TIMEOUT,DNS_FAILURE => my-own-category temporary",
                "d !text=/x/ code=421 => bad-connection")));
        assertEquals(3, r.rules().size());
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0).contains("t:3"));
        assertEquals("my-own-category", r.rules().get(1).category());
        assertEquals(Boolean.FALSE, r.rules().get(1).permanent());
        FailureInput in = FailureInput.reply(551, "5.1.9", "No such user here", "mx1.example.com", "x.org");
        assertTrue(r.rules().get(0).match(in) != null);
        assertEquals(null, r.rules().get(0).match(FailureInput.reply(551, "5.1.9", "No such user", "mx.other", "x")));
    }

    @Test
    public void operatorRulesComeFirstAndTraceNamesTheConsideredRules() throws Exception {
        Path f = tmp.newFile("rules.txt").toPath();
        Files.writeString(f, "op-1 text=/nothing-matches-this/ => other\nop-2 status=5.1.1 => my-category\n");
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier(f);
        Classification cl = c.classify(FailureInput.reply(550, "5.1.1", "User unknown", null, null));
        assertEquals("my-category", cl.category());
        assertEquals("op-2", cl.trace().ruleId());
        assertEquals(f.toString(), cl.trace().source());
        assertEquals(java.util.List.of("op-1"), cl.trace().considered());
        assertTrue(cl.trace().matched().contains("5.1.1"));
    }

    @Test
    public void reloadsWhenTheFileChanges() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("hermod-bounce-rules.txt");
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier(f);
        FailureInput in = FailureInput.reply(550, "5.1.1", "User unknown", null, null);
        assertEquals("bad-mailbox", c.classify(in).category());
        Files.writeString(f, "mine status=5.1.1 => vip-unknown\n");
        c.checkForChange();
        assertEquals("vip-unknown", c.classify(in).category());
        Files.writeString(f, "mine status=5.1.1 => changed-again\n");
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        c.checkForChange();
        assertEquals("changed-again", c.classify(in).category());
        Files.delete(f);
        c.checkForChange();
        assertEquals("bad-mailbox", c.classify(in).category());
    }

    @Test
    public void classifiesTypicalReplies() {
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier((Path) null);
        assertCat(c, "bad-mailbox", true, 550, "5.1.1", "The email account that you tried to reach does not exist.");
        assertCat(c, "quota-issues", false, 452, "4.2.2", "The recipient's inbox is out of storage space");
        assertCat(c, "spam-related", true, 554, null, "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org");
        assertCat(c, "relaying-issues", true, 554, "5.7.1", "<a@b.example>: Relay access denied");
        assertCat(c, "inactive-mailbox", true, 550, "5.2.1", "The email account that you tried to reach is disabled.");
        assertCat(c, "invalid-sender", true, 553, "5.1.8", "Sender address rejected: Domain not found");
        assertCat(c, "bad-domain", true, 550, null, "Host or domain name not found");
        assertCat(c, "bad-mailbox", true, 550, null, "Requested action not taken: mailbox unavailable");
        assertCat(c, "protocol-errors", true, 503, "5.5.1", "Bad sequence of commands");
        Classification t = c.classify(new FailureInput(FailureInput.Kind.TIMEOUT, 0, null, "connect timed out",
                "mx.example", "example"));
        assertEquals("no-answer-from-host", t.category());
        assertFalse(t.permanent());
        assertEquals("message-expired", c.classify(new FailureInput(FailureInput.Kind.EXPIRED, 0, null, "", null,
                null)).category());
    }

    @Test
    public void strongerEvidenceDecidesAndTheTraceNamesItsLevel() {
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier((Path) null);
        // a blocklist naming itself (provider-code) beats the overloaded 5.7.1 (class evidence)
        Classification bl = c.classify(FailureInput.reply(554, "5.7.1",
                "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", null, null));
        assertEquals("spam-related", bl.category());
        assertTrue(bl.trace().matched(), bl.trace().matched().startsWith("provider-code: "));
        // a narrow phrase beats 5.7.1 and X.2.1, which every MTA uses for everything
        Classification relay = c.classify(FailureInput.reply(554, "5.7.1", "<a@b.example>: Relay access denied",
                null, null));
        assertEquals("relaying-issues", relay.category());
        assertTrue(relay.trace().matched(), relay.trace().matched().startsWith("specific-phrase: "));
        assertCat(c, "bad-mailbox", true, 550, "5.2.1", "<kijitora@example.jp>... User Unknown");
        // a specific status beats a broad word in the same text
        Classification full = c.classify(FailureInput.reply(552, "5.2.2", "Mailbox full, message rejected", null,
                null));
        assertEquals("quota-issues", full.category());
        assertTrue(full.trace().matched(), full.trace().matched().startsWith("specific-status: "));
        // provider-documented meaning of a code over its RFC 3463 reading (Gmail 4.2.1 = rate limit)
        assertCat(c, "policy-related", false, 450, "4.2.1", "The user you are trying to contact is receiving mail too"
                + " quickly. Please resend your message at a later time.");
        // Microsoft 5.4.1 "Access denied" is directory-based edge blocking: the recipient does not exist
        assertCat(c, "bad-mailbox", true, 550, "5.4.1", "Recipient address rejected: Access denied. AS(201806281)");
    }

    @Test
    public void broadWordsAloneNeverMakeAHardBounce() {
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier((Path) null);
        java.util.Set<String> hard = java.util.Set.of("bad-mailbox", "bad-domain", "inactive-mailbox");
        for (String text : new String[] {"Message rejected", "Access denied", "Blocked", "Host unknown timeout",
                "Delivery not permitted"}) {
            Classification cl = c.classify(FailureInput.reply(550, null, text, null, null));
            assertFalse(text + " -> " + cl.category(), hard.contains(cl.category()) && !text.startsWith("Host"));
            assertTrue(text, cl.trace().matched().startsWith("generic-phrase: "));
        }
        // with nothing but the reply code, the class decides and says so
        Classification bare = c.classify(FailureInput.reply(421, null, "", null, null));
        assertTrue(bare.trace().matched(), bare.trace().matched().startsWith("reply-code: "));
    }

    @Test
    public void weakEvidenceNeverSuppressesOnATemporaryFailureOrAfterData() {
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier((Path) null);
        java.util.Set<String> hard = java.util.Set.of("bad-mailbox", "bad-domain", "inactive-mailbox");
        // an undefined 4.1.x detail is a temporary failure: no address verdict from its class
        Classification t = c.classify(FailureInput.reply(0, "4.1.9",
                "Resources temporarily unavailable, please try again later [#4.1.9].", null, null));
        assertFalse(t.category(), hard.contains(t.category()));
        // a domain that did not resolve in a temporary failure is not suppressed; a Null MX is
        assertCat(c, "no-answer-from-host", false, 0, "4.0.0", "DNS Error: 1 DNS type 'mx' lookup of example.jp"
                + " responded with code NXDOMAIN Domain name not found: example.jp");
        assertCat(c, "bad-domain", false, 0, "4.0.0", "DNS Error: The domain example.org doesn't receive email"
                + " according to the administrator: returned Null MX");
        // RFC 3463 X.2.0: the mailbox exists
        Classification x20 = c.classify(FailureInput.reply(550, "5.2.0", "", null, null));
        assertFalse(x20.category(), hard.contains(x20.category()));
        // a refusal of the message at the end of DATA is not a bad address without a status naming it
        assertCat(c, "content-related", true, 550, "5.2.0", "SMTP error from remote server for TEXT command, host:"
                + " smtp-in.example.fr reason: 550 5.2.0 Mail rejected");
        assertCat(c, "content-related", true, 550, null, "550 Error 123 (in reply to end of DATA command)");
        assertCat(c, "bad-mailbox", true, 550, "5.1.1", "550 5.1.1 User unknown (in reply to end of DATA command)");
        // a bare 550 names no address (RFC 5321: "no access, or command rejected for policy reasons"); a reply to
        // MAIL FROM is about the sender
        Classification bare = c.classify(FailureInput.reply(550, null, "Error 42", null, null));
        assertFalse(bare.category(), hard.contains(bare.category()));
        Classification mf = c.classify(FailureInput.reply(553, "5.1.0", "SMTP error from remote mail server after MAIL"
                + " FROM:<a@b.example> SIZE=1022: 553 5.1.0 xyz", null, null));
        assertFalse(mf.category(), hard.contains(mf.category()));
        // the reply's own X.4.7 reports the expiry; X.4.1 in words is an answer, not a silent host
        assertCat(c, "message-expired", false, 554, "4.4.2", "554 4.4.7 Message expired: unable to deliver in 840"
                + " minutes.<421 4.4.2 Connection timed out>");
        assertCat(c, "policy-related", true, 550, "5.4.1", "550 5.4.1 All recipient addresses rejected : Access"
                + " denied");
    }

    @Test
    public void levelIsReadFromTheRuleOrDerivedFromItsConditions() throws Exception {
        RuleParser.Result r = RuleParser.parse("t", new StringReader(String.join("\n",
                "a status=5.1.1 => x",
                "b status=5.1.0 => x",
                "c status=X.7.1 level=status-class => x",
                "d text=/y/ => x",
                "e code=550 => x",
                "f provider=example.com text=/y/ => x",
                "g text=/y/ level=nonsense => x")));
        assertEquals(6, r.rules().size());
        assertEquals(1, r.errors().size());
        assertEquals(List.of(Evidence.SPECIFIC_STATUS, Evidence.STATUS_CLASS, Evidence.STATUS_CLASS,
                Evidence.SPECIFIC_PHRASE, Evidence.REPLY_CODE, Evidence.PROVIDER_CODE),
                r.rules().stream().map(org.hermod.bounce.internal.rules.Rule::evidence).toList());
        assertEquals(List.of("f", "a", "d", "b", "c", "e"),
                RuleLoader.byEvidence(r.rules()).stream().map(org.hermod.bounce.internal.rules.Rule::id).toList());
    }

    private static void assertCat(RuleBasedBounceClassifier c, String cat, boolean perm, int code, String st,
                                  String text) {
        Classification cl = c.classify(FailureInput.reply(code, st, text, null, null));
        assertEquals(text, cat, cl.category());
        assertEquals(text, perm, cl.permanent());
    }
}
