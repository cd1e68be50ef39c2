package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.hermod.api.filter.HeaderField;
import org.junit.Test;

/** The header section as filters see it, with malformed lines among the fields. */
public class MessageContentTest {

    private static final String MESSAGE = "Subject: first\r\n"
            + "Bad Name: a space in the name\r\n"
            + "X-8bit\u00e9: an 8-bit byte in the name\r\n"
            + "X-CR: bare\rCR\r\n"
            + "no colon at all\r\n"
            + "X-Spam: yes\r\n"
            + "  folded\r\n"
            + "From: s@from.test\r\n"
            + "\r\n"
            + "Body: not a header\r\n";

    private static String text(MessageContent m) {
        return new String(m.bytes(), StandardCharsets.UTF_8);
    }

    @Test
    public void fieldsAfterAMalformedLineAreStillHeaders() throws Exception {
        MessageContent m = new MessageContent(MESSAGE.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(new HeaderField("Subject", "first"), new HeaderField("X-Spam", "yes  folded"),
                new HeaderField("From", "s@from.test")), m.headers());
        assertEquals("yes  folded", m.header("x-spam"));
        assertNull("the body is not the header section", m.header("Body"));
        assertEquals("Body: not a header\r\n", new String(m.body().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    public void removeHeaderFindsFieldsAfterOpaqueLinesAndKeepsThoseLinesUnchanged() {
        MessageContent m = new MessageContent(MESSAGE.getBytes(StandardCharsets.UTF_8))
                .edit(List.of("x-spam"), List.of(new HeaderField("X-Routed", "1")));
        assertEquals("X-Routed: 1\r\n" + MESSAGE.replace("X-Spam: yes\r\n  folded\r\n", ""), text(m));
        assertNull(m.header("X-Spam"));
        assertEquals("1", m.header("X-Routed"));
    }

    private static void sameAsParsedAfresh(MessageContent m) throws Exception {
        MessageContent fresh = new MessageContent(m.bytes().clone());
        assertEquals(fresh.headers(), m.headers());
        assertEquals(new String(fresh.body().readAllBytes(), StandardCharsets.UTF_8),
                new String(m.body().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    public void editsOneAfterAnotherSeeTheHeaderSectionAsTheContentNowIs() throws Exception {
        MessageContent m = new MessageContent(MESSAGE.getBytes(StandardCharsets.UTF_8));
        m.headers(); // parsed before the first edit, as when a filter read the headers
        MessageContent routed = m.edit(List.of(), List.of(new HeaderField("X-Routed", "yes")));
        sameAsParsedAfresh(routed);
        MessageContent stamped = routed.edit(List.of("x-tenant", "subject"), List.of(new HeaderField("X-Tenant",
                "bench")));
        sameAsParsedAfresh(stamped);
        assertEquals("X-Tenant: bench\r\nX-Routed: yes\r\n" + MESSAGE.replace("Subject: first\r\n", ""),
                text(stamped));
        assertEquals(List.of(new HeaderField("X-Tenant", "bench"), new HeaderField("X-Routed", "yes"),
                new HeaderField("X-Spam", "yes  folded"), new HeaderField("From", "s@from.test")),
                stamped.headers());
        MessageContent again = stamped.edit(List.of("X-TENANT"), List.of(new HeaderField("X-Tenant", "other")));
        assertEquals("other", again.header("x-tenant"));
        assertEquals(1, again.headers().stream().filter(h -> h.name().equals("X-Tenant")).count());
        sameAsParsedAfresh(again);
    }

    @Test
    public void aHeaderSectionWithoutBodyOrStartingWithWhiteSpaceStaysConsistentAfterEdits() throws Exception {
        for (String raw : new String[] {"Subject: no body\r\nFrom: a@b.test", "\r\nonly a body\r\n",
                " leading: white space\r\nSubject: s\r\n\r\nbody\r\n", ""}) {
            MessageContent m = new MessageContent(raw.getBytes(StandardCharsets.UTF_8))
                    .edit(List.of("from"), List.of(new HeaderField("X-A", "1")));
            sameAsParsedAfresh(m);
            sameAsParsedAfresh(m.edit(List.of("x-a"), List.of(new HeaderField("X-B", "2"))));
        }
    }

    @Test
    public void randomEditChainsKeepTheBodyAndReadAsTheirBytesParsedAfresh() throws Exception {
        java.util.Random rnd = new java.util.Random(12);
        String[] names = {"Subject", "From", "X-A", "x-a", "Received", "X-Tenant"};
        String[] lines = {"Subject: s\r\n", "From: f@x.test\r\n", "X-A: 1\r\n", "  folded more\r\n",
                "\tfolded tab\r\n", "no colon\r\n", "Bad Name: v\r\n", "x-a: lower\r\n", "Received: by x\r\n"};
        for (int n = 0; n < 3000; n++) {
            StringBuilder raw = new StringBuilder();
            for (int i = rnd.nextInt(6); i > 0; i--) {
                raw.append(lines[rnd.nextInt(lines.length)]);
            }
            String body = rnd.nextInt(5) == 0 ? "" : "\r\nbody " + n + "\r\n.. line\r\n";
            raw.append(body);
            if (rnd.nextInt(8) == 0 && raw.length() > 2) {
                raw.setLength(raw.length() - 2); // no final CRLF
            }
            MessageContent m = new MessageContent(raw.toString().getBytes(StandardCharsets.UTF_8));
            String originalBody = new String(m.body().readAllBytes(), StandardCharsets.UTF_8);
            for (int e = 1 + rnd.nextInt(3); e > 0; e--) {
                List<String> removed = rnd.nextBoolean() ? List.of(names[rnd.nextInt(names.length)]) : List.of();
                List<HeaderField> added = rnd.nextBoolean() ? List.of(new HeaderField(names[rnd.nextInt(3) + 3], "v" + e))
                        : List.of(new HeaderField("X-B", "b" + e), new HeaderField("X-C", "c"));
                MessageContent edited = m.edit(removed, added);
                String what = n + "/" + e + " " + raw;
                sameAsParsedAfresh(edited);
                assertEquals(what, edited.bytes().length, edited.size());
                assertEquals(what, new String(edited.bytes(), StandardCharsets.UTF_8),
                        new String(edited.content().readAllBytes(), StandardCharsets.UTF_8));
                assertEquals(what, originalBody, new String(edited.body().readAllBytes(), StandardCharsets.UTF_8));
                for (String r : removed) {
                    if (added.stream().noneMatch(h -> h.name().equalsIgnoreCase(r))) {
                        assertNull(what, edited.header(r));
                    }
                }
                // the first added field comes first (its value may take in a malformed leading white-space line)
                assertEquals(what, added.get(0).name(), edited.headers().get(0).name());
                m = edited;
            }
        }
    }
}
