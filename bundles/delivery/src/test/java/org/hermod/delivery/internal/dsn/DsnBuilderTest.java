package org.hermod.delivery.internal.dsn;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.james.mime4j.dom.BinaryBody;
import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.dom.field.ContentTypeField;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.apache.james.mime4j.stream.MimeConfig;
import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.junit.Test;

public class DsnBuilderTest {

    private static final byte[] ORIGINAL = ("From: Alice <alice@origin.test>\r\nTo: bob@dest.test\r\nSubject: hello there\r\n"
            + "Message-ID: <orig-1@origin.test>\r\n\r\nThe body.\r\nSecond line.\r\n").getBytes(StandardCharsets.US_ASCII);

    public static Message parse(byte[] dsn) throws IOException {
        DefaultMessageBuilder b = new DefaultMessageBuilder();
        b.setMimeEntityConfig(MimeConfig.STRICT);
        return b.parseMessage(new ByteArrayInputStream(dsn));
    }

    public static String text(Body body) throws IOException {
        if (body instanceof TextBody t) {
            try (InputStream in = t.getInputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        try (InputStream in = ((BinaryBody) body).getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The delivery-status groups: per-message fields first, then one map per recipient. */
    public static List<Map<String, String>> statusGroups(String s) {
        List<Map<String, String>> groups = new ArrayList<>();
        Map<String, String> cur = new LinkedHashMap<>();
        for (String line : s.split("\r\n", -1)) {
            if (line.isEmpty()) {
                if (!cur.isEmpty()) {
                    groups.add(cur);
                    cur = new LinkedHashMap<>();
                }
                continue;
            }
            int c = line.indexOf(':');
            cur.put(line.substring(0, c), line.substring(c + 1).trim());
        }
        if (!cur.isEmpty()) {
            groups.add(cur);
        }
        return groups;
    }

    /** Checks the common structure and returns the three parts. */
    public static List<Entity> checkReport(byte[] dsn) throws IOException {
        Message m = parse(dsn);
        assertEquals("multipart/report", m.getMimeType());
        assertEquals("delivery-status", ((ContentTypeField) m.getHeader().getField("Content-Type")).getParameter("report-type"));
        assertEquals("auto-replied", m.getHeader().getField("Auto-Submitted").getBody());
        List<Entity> parts = ((Multipart) m.getBody()).getBodyParts();
        assertEquals(3, parts.size());
        assertEquals("text/plain", parts.get(0).getMimeType());
        assertEquals("message/delivery-status", parts.get(1).getMimeType());
        return parts;
    }

    @Test
    public void failureReportWithFullMessage() throws Exception {
        Recipient bob = new Recipient(MailAddress.parse("bob@dest.test"), Set.of(), "rfc822;bob+alias@dest.test"); // decoded
        Recipient carol = Recipient.of(MailAddress.parse("carol@dest.test"));
        Envelope env = new Envelope(MailAddress.parse("alice@origin.test"), List.of(bob, carol), Envelope.Ret.FULL,
                "env-42", Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.parse("2024-05-01T10:00:00Z"));
        Instant now = Instant.parse("2024-05-01T10:05:00Z");
        byte[] dsn = new DsnBuilder("mta.hermod.test").build(env, "Q123", env.receivedAt(), List.of(
                new DsnRecipient(bob, "failed", "5.1.1", "mx.dest.test", SmtpReply.of(550, "5.1.1", "no such user"), now),
                new DsnRecipient(carol, "failed", "5.7.1", "mx.dest.test", SmtpReply.of(554, "5.7.1", "rejected"), now)),
                ORIGINAL, now);
        List<Entity> parts = checkReport(dsn);
        Message m = parse(dsn);
        assertEquals("alice@origin.test", m.getTo().get(0).toString().replaceAll("[<>]", ""));

        assertTrue(text(parts.get(0).getBody()).contains("<bob@dest.test> (host mx.dest.test): 550 5.1.1 no such user"));

        List<Map<String, String>> groups = statusGroups(text(parts.get(1).getBody()));
        assertEquals(3, groups.size());
        assertEquals("dns; mta.hermod.test", groups.get(0).get("Reporting-MTA"));
        assertEquals("env-42", groups.get(0).get("Original-Envelope-Id"));
        assertTrue(groups.get(0).containsKey("Arrival-Date"));
        Map<String, String> b = groups.get(1);
        assertEquals("rfc822; bob@dest.test", b.get("Final-Recipient"));
        assertEquals("rfc822; bob+alias@dest.test", b.get("Original-Recipient"));
        assertEquals("failed", b.get("Action"));
        assertEquals("5.1.1", b.get("Status"));
        assertEquals("dns; mx.dest.test", b.get("Remote-MTA"));
        assertEquals("smtp; 550 5.1.1 no such user", b.get("Diagnostic-Code"));
        Map<String, String> c = groups.get(2);
        assertEquals("rfc822; carol@dest.test", c.get("Final-Recipient"));
        assertFalse(c.containsKey("Original-Recipient"));
        assertEquals("5.7.1", c.get("Status"));

        assertEquals("message/rfc822", parts.get(2).getMimeType());
        Message original = (Message) parts.get(2).getBody();
        assertEquals("hello there", original.getSubject());
        assertTrue(text(((Message) parts.get(2).getBody()).getBody()).contains("Second line."));
    }

    @Test
    public void orcptIsNotDecodedTwiceAndDsnFieldsStayOneLine() throws Exception {
        // stored already xtext-decoded: a literal "+2B" is part of the address and must stay as it is
        Recipient bob = new Recipient(MailAddress.parse("bob@dest.test"), Set.of(),
                "rfc822;odd+2Bname@dest.test\r\nX-Injected: yes");
        Envelope env = new Envelope(MailAddress.parse("alice@origin.test"), List.of(bob), null, "env\r\nX-Evil: 1",
                Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.parse("2024-05-01T10:00:00Z"));
        Instant now = Instant.parse("2024-05-01T10:05:00Z");
        byte[] dsn = new DsnBuilder("mta.hermod.test").build(env, "Q124", env.receivedAt(), List.of(
                new DsnRecipient(bob, "failed", "5.1.1", "mx.dest.test", SmtpReply.of(550, "5.1.1", "no such user"), now)),
                ORIGINAL, now);
        List<Map<String, String>> groups = statusGroups(text(checkReport(dsn).get(1).getBody()));
        assertEquals("env  X-Evil: 1", groups.get(0).get("Original-Envelope-Id"));
        assertFalse(groups.get(0).containsKey("X-Evil"));
        assertEquals("rfc822; odd+2Bname@dest.test  X-Injected: yes", groups.get(1).get("Original-Recipient"));
        assertFalse(groups.get(1).containsKey("X-Injected"));
        assertEquals("rfc822; plain@dest.test", DsnBuilder.orcpt("plain@dest.test"));
    }

    @Test
    public void retHdrsReturnsOnlyTheHeader() throws Exception {
        Recipient bob = Recipient.of(MailAddress.parse("bob@dest.test"));
        Envelope env = new Envelope(MailAddress.parse("alice@origin.test"), List.of(bob), Envelope.Ret.HDRS, null,
                Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", Instant.now());
        byte[] dsn = new DsnBuilder("mta.hermod.test").build(env, "Q1", env.receivedAt(), List.of(
                new DsnRecipient(bob, "failed", "4.4.7", null, SmtpReply.of(451, "4.4.7", "delivery time expired"), null)),
                ORIGINAL, Instant.now());
        List<Entity> parts = checkReport(dsn);
        assertEquals("text/rfc822-headers", parts.get(2).getMimeType());
        String headers = text(parts.get(2).getBody());
        assertTrue(headers.contains("Subject: hello there"));
        assertFalse(headers.contains("The body."));
        List<Map<String, String>> groups = statusGroups(text(parts.get(1).getBody()));
        assertFalse(groups.get(0).containsKey("Original-Envelope-Id"));
        assertEquals("4.4.7", groups.get(1).get("Status"));
        assertFalse(groups.get(1).containsKey("Remote-MTA"));
        assertTrue(text(parts.get(0).getBody()).contains("delivery time expired"));
    }

    @Test
    public void envelopeGoesFromNullSenderToOriginalSender() {
        Envelope env = Envelope.local(MailAddress.parse("alice@origin.test"), List.of(Recipient.of(MailAddress.parse("b@d.test"))),
                null);
        Envelope dsnEnv = DsnBuilder.envelopeFor(env, "x".getBytes(StandardCharsets.US_ASCII));
        assertTrue(dsnEnv.sender().isNullSender());
        assertEquals("alice@origin.test", dsnEnv.recipients().get(0).address().toString());
    }
}
