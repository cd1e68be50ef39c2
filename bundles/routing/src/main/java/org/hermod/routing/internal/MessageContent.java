package org.hermod.routing.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.MessageData;

/**
 * A message's content as the end-of-data filters see it: the header section parsed (unfolded) once, the body as a
 * stream over the same bytes, and header edits that give a new content (removals of whole fields, folded lines
 * included, then additions at the top). Immutable.
 */
final class MessageContent implements MessageData {

    private final byte[] content;
    private final int bodyStart;
    /** Each field's [start, end) in content, end after its last CRLF. */
    private final int[][] spans;
    private final List<HeaderField> headers;

    MessageContent(byte[] content) {
        this.content = content;
        List<int[]> sp = new ArrayList<>();
        List<HeaderField> hs = new ArrayList<>();
        int pos = 0;
        int body = content.length;
        while (pos < content.length) {
            int eol = lineEnd(content, pos);
            if (eol == pos) { // an empty line: the body follows
                body = next(content, eol);
                break;
            }
            int start = pos;
            pos = next(content, eol);
            while (pos < content.length && (content[pos] == ' ' || content[pos] == '\t')) {
                pos = next(content, lineEnd(content, pos));
            }
            String raw = new String(content, start, pos - start, StandardCharsets.UTF_8);
            int colon = raw.indexOf(':');
            if (colon <= 0) { // not a header line: the header section ended without a blank line
                body = start;
                break;
            }
            String name = raw.substring(0, colon).strip();
            String value = raw.substring(colon + 1).replace("\r\n", "").replace("\n", "").replace('\0', ' ').strip();
            try {
                hs.add(new HeaderField(name, value));
                sp.add(new int[] {start, pos});
            } catch (IllegalArgumentException e) {
                body = start;
                break;
            }
        }
        this.bodyStart = Math.min(body, content.length);
        this.spans = sp.toArray(new int[0][]);
        this.headers = Collections.unmodifiableList(hs);
    }

    private static int lineEnd(byte[] c, int from) {
        int i = from;
        while (i < c.length && c[i] != '\n') {
            i++;
        }
        return i > from && c[i - 1] == '\r' && i <= c.length ? i - 1 : i;
    }

    private static int next(byte[] c, int eol) {
        if (eol < c.length && c[eol] == '\r') {
            eol++;
        }
        return eol < c.length && c[eol] == '\n' ? eol + 1 : eol;
    }

    byte[] bytes() {
        return content;
    }

    /** The content with every field named in {@code removed} taken out and {@code added} put at the top, in order. */
    MessageContent edit(List<String> removed, List<HeaderField> added) {
        if (removed.isEmpty() && added.isEmpty()) {
            return this;
        }
        Set<String> gone = new HashSet<>();
        removed.forEach(n -> gone.add(n.toLowerCase(Locale.ROOT)));
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 256);
        for (HeaderField h : added) {
            out.writeBytes((h.name() + ": " + h.value() + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        for (int i = 0; i < spans.length; i++) {
            if (!gone.contains(headers.get(i).name().toLowerCase(Locale.ROOT))) {
                out.write(content, spans[i][0], spans[i][1] - spans[i][0]);
            }
        }
        int tail = spans.length == 0 ? 0 : spans[spans.length - 1][1];
        out.write(content, tail, content.length - tail);
        return new MessageContent(out.toByteArray());
    }

    @Override
    public List<HeaderField> headers() {
        return headers;
    }

    @Override
    public String header(String name) {
        for (HeaderField h : headers) {
            if (h.name().equalsIgnoreCase(name)) {
                return h.value();
            }
        }
        return null;
    }

    @Override
    public InputStream body() {
        return new ByteArrayInputStream(content, bodyStart, content.length - bodyStart);
    }

    @Override
    public InputStream content() {
        return new ByteArrayInputStream(content);
    }

    @Override
    public long size() {
        return content.length;
    }
}
