package org.hermod.bounce.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.junit.Test;

public class BounceParsingTest {

    private final RuleBasedBounceClassifier classifier = new RuleBasedBounceClassifier((Path) null);

    private BounceReport analyse(byte[] raw) {
        return BounceAnalyzer.analyse(raw, null, classifier, null);
    }

    @Test
    public void parsesMultiRecipientPostfixDsn() throws Exception {
        BounceReport r = analyse(Corpus.bounce("lhost-postfix-02.eml"));
        assertEquals(BounceReport.Kind.BOUNCE, r.kind());
        assertEquals(2, r.recipients().size());
        for (BouncedRecipient b : r.recipients()) {
            assertEquals("bad-mailbox", b.classification().category());
            assertTrue(b.classification().permanent());
        }
    }

    @Test
    public void parsesDsnWhoseMimeBoundaryNeverOccurs() throws Exception {
        // multipart/report whose boundary is missing from the body: the DSN fields are read from the text
        BounceReport r = analyse(Corpus.bounce("rfc3464-06.eml"));
        assertEquals(BounceReport.Kind.BOUNCE, r.kind());
        assertEquals("kijitora@example.net", r.recipients().get(0).recipient());
        assertEquals("bad-mailbox", r.recipients().get(0).classification().category());
    }

    @Test
    public void keepsDsnRecipientOrderWhenTheBoundaryIsBroken() throws Exception {
        // an indented boundary line puts message/delivery-status inside the text part; three recipient groups
        BounceReport r = analyse(Corpus.bounce("rfc3464-35.eml"));
        assertEquals(3, r.recipients().size());
        assertEquals("kijitora@nyaan.example.com", r.recipients().get(0).recipient());
        assertEquals("sabatora@cat.example.net", r.recipients().get(1).recipient());
        assertEquals("delayed", r.recipients().get(1).action());
        assertTrue(!r.recipients().get(1).classification().permanent());
        assertEquals("mikeneko@neko.example.or.jp", r.recipients().get(2).recipient());
    }

    @Test
    public void parsesNonStandardQmailBounce() throws Exception {
        BounceReport r = analyse(Corpus.bounce("lhost-qmail-01.eml"));
        assertEquals(BounceReport.Kind.BOUNCE, r.kind());
        BouncedRecipient b = r.recipients().get(0);
        assertEquals("kijitora@example.ne.jp", b.recipient());
        assertEquals(550, b.replyCode());
        assertEquals("5.5.0", b.status());
        assertEquals("bad-mailbox", b.classification().category());
    }

    @Test
    public void arfIsAComplaintNotABounce() throws Exception {
        BounceReport r = analyse(Corpus.bounce("arf-02.eml"));
        assertEquals(BounceReport.Kind.COMPLAINT, r.kind());
        assertEquals("abuse", r.feedbackType());
        assertNotNull(r.recipients().get(0).recipient());
    }

    @Test
    public void microsoftJmrpReportIsAComplaint() throws Exception {
        String msg = "From: staff@hotmail.com\r\nTo: fbl@example.org\r\nSubject: complaint about message from"
                + " 192.0.2.1\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                + "Content-Type: message/rfc822\r\n\r\nX-HmXmrOriginalRecipient: user@hotmail.com\r\n"
                + "From: news@example.org\r\nTo: user@hotmail.com\r\nSubject: hi\r\n\r\nhello\r\n--b--\r\n";
        BounceReport r = analyse(msg.getBytes(StandardCharsets.UTF_8));
        assertEquals(BounceReport.Kind.COMPLAINT, r.kind());
        assertEquals("user@hotmail.com", r.recipients().get(0).recipient());
    }

    @Test
    public void aRelaysSummaryGivesWayToTheQuotedReplyAndTheStageIsKept() throws Exception {
        BounceReport r = analyse(Corpus.bounce("lhost-amazonses-01.eml"));
        BouncedRecipient b = r.recipients().get(0);
        assertEquals("5.7.1", b.status());
        assertEquals("policy-related", b.classification().category());
        assertEquals("550 5.7.1 <x>... Access denied'", org.hermod.bounce.internal.parse.BounceParser.unwrap(
                "5.1.0 - Unknown address error 550-'5.7.1 <x>... Access denied'"));
        BounceReport d = analyse(Corpus.bounce("rhost-nttdocomo-02.eml"));
        assertTrue(d.recipients().get(0).diagnostic(),
                d.recipients().get(0).diagnostic().endsWith("(in reply to end of DATA command)"));
    }

    @Test
    public void autoReplyIsRecognised() {
        String msg = "From: a@example.com\r\nTo: b@example.org\r\nSubject: Out of office\r\n"
                + "Auto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n";
        assertEquals(BounceReport.Kind.AUTO_REPLY, analyse(msg.getBytes(StandardCharsets.UTF_8)).kind());
    }

    @Test
    public void garbageNeverCrashes() {
        Random rnd = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] b = new byte[rnd.nextInt(4000)];
            rnd.nextBytes(b);
            assertNotNull(analyse(b).kind());
        }
        assertNotNull(analyse(("Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\n"
                + "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: ;;;\r\nStatus: 9.9\r\n--x")
                .getBytes(StandardCharsets.ISO_8859_1)).kind());
        assertNotNull(analyse(null).kind());
    }
}
