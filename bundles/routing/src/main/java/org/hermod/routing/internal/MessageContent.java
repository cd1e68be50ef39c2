package org.hermod.routing.internal;

import java.io.ByteArrayInputStream;
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
 * A message's content as the end-of-data filters see it: the header section parsed (unfolded) once, on first use (so
 * on a filter thread, not the caller's), the body as a stream over the same bytes, and header edits that give a new
 * content (removals of whole fields, folded lines included, then additions at the top). The header section ends only
 * at the empty line: a line that is not a well-formed field (a space or an 8-bit byte in the name, no colon, a bare CR)
 * is kept in the content unchanged as an opaque line but not offered as a {@link HeaderField}, and the fields after it
 * are. Immutable.
 */
final class MessageContent implements MessageData {

    private final byte[] content;
    private volatile Parsed parsed;

    /**
     * The parsed header section: each line's [start, end) in content (end after its last CRLF, folded lines
     * included) with its field, or null for an opaque line.
     */
    private record Parsed(int[][] spans, HeaderField[] fields, List<HeaderField> headers, int bodyStart) {
    }

    MessageContent(byte[] content) {
        this.content = content;
    }

    private Parsed parsed() {
        Parsed p = parsed;
        if (p == null) {
            p = parse(content);
            parsed = p;
        }
        return p;
    }

    private static Parsed parse(byte[] content) {
        List<int[]> sp = new ArrayList<>();
        List<HeaderField> fs = new ArrayList<>();
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
            sp.add(new int[] {start, pos});
            HeaderField field = field(new String(content, start, pos - start, StandardCharsets.UTF_8));
            fs.add(field);
            if (field != null) {
                hs.add(field);
            }
        }
        return new Parsed(sp.toArray(new int[0][]), fs.toArray(new HeaderField[0]),
                Collections.unmodifiableList(hs), Math.min(body, content.length));
    }

    /** The field of a header line (folded lines included), or null when the line is not a well-formed field. */
    private static HeaderField field(String raw) {
        int colon = raw.indexOf(':');
        if (colon <= 0) {
            return null;
        }
        String name = raw.substring(0, colon).strip();
        String value = raw.substring(colon + 1).replace("\r\n", "").replace("\n", "").replace('\0', ' ').strip();
        try {
            return new HeaderField(name, value);
        } catch (IllegalArgumentException e) {
            return null;
        }
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

    /**
     * The content with every field named in {@code removed} taken out and {@code added} put at the top, in order. The
     * new content's header section is derived from this one's (the lines it keeps, shifted), not parsed again.
     */
    MessageContent edit(List<String> removed, List<HeaderField> added) {
        if (removed.isEmpty() && added.isEmpty()) {
            return this;
        }
        Set<String> gone = new HashSet<>();
        removed.forEach(n -> gone.add(n.toLowerCase(Locale.ROOT)));
        Parsed p = parsed();
        byte[] out = new byte[content.length + 64 * added.size()];
        int at = 0;
        List<int[]> sp = new ArrayList<>(p.spans.length + added.size());
        List<HeaderField> fs = new ArrayList<>(p.spans.length + added.size());
        List<HeaderField> hs = new ArrayList<>(p.headers.size() + added.size());
        for (HeaderField h : added) {
            String line = h.name() + ": " + h.value() + "\r\n";
            byte[] b = line.getBytes(StandardCharsets.UTF_8);
            out = room(out, at, b.length);
            System.arraycopy(b, 0, out, at, b.length);
            sp.add(new int[] {at, at + b.length});
            at += b.length;
            HeaderField f = field(new String(b, StandardCharsets.UTF_8)); // what parsing the new content finds
            fs.add(f);
            if (f != null) {
                hs.add(f);
            }
        }
        for (int i = 0; i < p.spans.length; i++) {
            if (p.fields[i] == null || !gone.contains(p.fields[i].name().toLowerCase(Locale.ROOT))) {
                int len = p.spans[i][1] - p.spans[i][0];
                out = room(out, at, len);
                System.arraycopy(content, p.spans[i][0], out, at, len);
                sp.add(new int[] {at, at + len});
                fs.add(p.fields[i]);
                if (p.fields[i] != null) {
                    hs.add(p.fields[i]);
                }
                at += len;
            }
        }
        int tail = p.spans.length == 0 ? 0 : p.spans[p.spans.length - 1][1];
        int shift = at - tail;
        out = room(out, at, content.length - tail);
        System.arraycopy(content, tail, out, at, content.length - tail);
        at += content.length - tail;
        byte[] edited = at == out.length ? out : java.util.Arrays.copyOf(out, at);
        MessageContent m = new MessageContent(edited);
        // a kept first line that starts with white space would read as a continuation of an added field: parse again
        boolean continuation = !added.isEmpty() && fs.size() > added.size()
                && (edited[sp.get(added.size())[0]] == ' ' || edited[sp.get(added.size())[0]] == '\t');
        if (!continuation) {
            m.parsed = new Parsed(sp.toArray(new int[0][]), fs.toArray(new HeaderField[0]),
                    Collections.unmodifiableList(hs), p.bodyStart + shift);
        }
        return m;
    }

    private static byte[] room(byte[] out, int at, int len) {
        return at + len <= out.length ? out : java.util.Arrays.copyOf(out, Math.max(out.length * 2, at + len));
    }

    @Override
    public List<HeaderField> headers() {
        return parsed().headers;
    }

    @Override
    public String header(String name) {
        for (HeaderField h : parsed().headers) {
            if (h.name().equalsIgnoreCase(name)) {
                return h.value();
            }
        }
        return null;
    }

    @Override
    public InputStream body() {
        return new ByteArrayInputStream(content, parsed().bodyStart, content.length - parsed().bodyStart);
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
