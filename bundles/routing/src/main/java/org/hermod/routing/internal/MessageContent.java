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

    /**
     * The content is {@code head} followed by {@code base} from {@code tailFrom}: after header edits, {@code head} holds
     * the edited header lines (and nothing else) and the rest (the empty line and the body) stays where it was in the
     * original array, so an edit copies the header section, not the message; {@link #bytes()} puts the two together
     * once. Unedited content has no head: it is {@code base} itself.
     */
    private final byte[] head;
    private final byte[] base;
    private final int tailFrom;
    private volatile byte[] joined;
    private volatile Parsed parsed;

    /**
     * The parsed header section: each line's [start, end) in the content (end after its last CRLF, folded lines
     * included) with its field, or null for an opaque line.
     */
    private record Parsed(int[][] spans, HeaderField[] fields, List<HeaderField> headers, int bodyStart) {
    }

    MessageContent(byte[] content) {
        this(null, content, 0);
    }

    private MessageContent(byte[] head, byte[] base, int tailFrom) {
        this.head = head;
        this.base = base;
        this.tailFrom = tailFrom;
    }

    private Parsed parsed() {
        Parsed p = parsed;
        if (p == null) {
            p = parse(bytes());
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

    /** The whole content: the original array when nothing was edited, else head and tail put together once. */
    byte[] bytes() {
        if (head == null) {
            return base;
        }
        byte[] j = joined;
        if (j == null) {
            j = java.util.Arrays.copyOf(head, head.length + base.length - tailFrom);
            System.arraycopy(base, tailFrom, j, head.length, base.length - tailFrom);
            joined = j;
        }
        return j;
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
        // the header lines are at the start of the content: in head when edited before, else in base
        byte[] lines = head != null ? head : base;
        List<byte[]> addedLines = new ArrayList<>(added.size());
        int size = 0;
        for (HeaderField h : added) {
            byte[] b = (h.name() + ": " + h.value() + "\r\n").getBytes(StandardCharsets.UTF_8);
            addedLines.add(b);
            size += b.length;
        }
        boolean[] keep = new boolean[p.spans.length];
        for (int i = 0; i < p.spans.length; i++) {
            keep[i] = p.fields[i] == null || !gone.contains(p.fields[i].name().toLowerCase(Locale.ROOT));
            if (keep[i]) {
                size += p.spans[i][1] - p.spans[i][0];
            }
        }
        byte[] out = new byte[size];
        int at = 0;
        List<int[]> sp = new ArrayList<>(p.spans.length + added.size());
        List<HeaderField> fs = new ArrayList<>(p.spans.length + added.size());
        List<HeaderField> hs = new ArrayList<>(p.headers.size() + added.size());
        for (byte[] b : addedLines) {
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
            if (keep[i]) {
                int len = p.spans[i][1] - p.spans[i][0];
                System.arraycopy(lines, p.spans[i][0], out, at, len);
                sp.add(new int[] {at, at + len});
                fs.add(p.fields[i]);
                if (p.fields[i] != null) {
                    hs.add(p.fields[i]);
                }
                at += len;
            }
        }
        // what follows the header lines (the empty line and the body) stays where it is
        int end = p.spans.length == 0 ? 0 : p.spans[p.spans.length - 1][1];
        int rest = head == null ? end : tailFrom + (end - head.length);
        MessageContent m = new MessageContent(out, base, rest);
        // a kept first line that starts with white space would read as a continuation of an added field: parse again
        boolean continuation = !added.isEmpty() && fs.size() > added.size()
                && (out[sp.get(added.size())[0]] == ' ' || out[sp.get(added.size())[0]] == '\t');
        if (!continuation) {
            m.parsed = new Parsed(sp.toArray(new int[0][]), fs.toArray(new HeaderField[0]),
                    Collections.unmodifiableList(hs), p.bodyStart + (at - end));
        }
        return m;
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
        int start = parsed().bodyStart;
        if (head == null || start < head.length) {
            byte[] c = bytes();
            return new ByteArrayInputStream(c, start, c.length - start);
        }
        int from = tailFrom + (start - head.length); // the body lies in the tail, still in the original array
        return new ByteArrayInputStream(base, from, base.length - from);
    }

    @Override
    public InputStream content() {
        return new ByteArrayInputStream(bytes());
    }

    @Override
    public long size() {
        return head == null ? base.length : head.length + (long) base.length - tailFrom;
    }
}
