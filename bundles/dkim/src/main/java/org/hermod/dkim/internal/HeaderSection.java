package org.hermod.dkim.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the header section of a stored message (CRLF line endings) as {@link RawHeader}s and leaves the stream at the
 * first byte of the body. The section ends at the empty line, or (like the filter chain's parser) at the first line
 * that neither continues a field nor has a colon, which then belongs to the body.
 */
final class HeaderSection {

    private HeaderSection() {
    }

    /**
     * The header fields in order. {@code in} must support {@link PushbackInputStream#unread} of one line; use
     * {@link #pushback(InputStream)}.
     */
    static List<RawHeader> read(PushbackInputStream in) throws IOException {
        List<RawHeader> fields = new ArrayList<>();
        ByteArrayOutputStream field = null;
        while (true) {
            byte[] line = readLine(in);
            if (line == null) {
                break;
            }
            int content = contentLength(line);
            if (content == 0) { // the empty line: the body follows
                break;
            }
            if ((line[0] == ' ' || line[0] == '\t') && field != null) {
                field.write(CRLF, 0, 2);
                field.write(line, 0, content);
                continue;
            }
            if (indexOfColon(line, content) <= 0) {
                in.unread(line);
                break;
            }
            if (field != null) {
                fields.add(toHeader(field.toByteArray()));
            }
            field = new ByteArrayOutputStream(Math.max(64, content));
            field.write(line, 0, content);
        }
        if (field != null) {
            fields.add(toHeader(field.toByteArray()));
        }
        return fields;
    }

    /** A stream that {@link #read} can push one line back into. */
    static PushbackInputStream pushback(InputStream in) {
        return new PushbackInputStream(in, MAX_LINE);
    }

    private static final byte[] CRLF = {'\r', '\n'};
    /** Longer lines are split (they break RFC 5322's 998 limit anyway; SMTP accepts more in BDAT). */
    private static final int MAX_LINE = 64 * 1024;

    private static RawHeader toHeader(byte[] raw) {
        int colon = indexOfColon(raw, raw.length);
        return new RawHeader(new String(raw, 0, colon, StandardCharsets.ISO_8859_1).strip(), raw);
    }

    private static int indexOfColon(byte[] b, int len) {
        for (int i = 0; i < len; i++) {
            if (b[i] == ':') {
                return i;
            }
        }
        return -1;
    }

    /** The line's length without its CRLF (or LF). */
    private static int contentLength(byte[] line) {
        int n = line.length;
        if (n > 0 && line[n - 1] == '\n') {
            n--;
            if (n > 0 && line[n - 1] == '\r') {
                n--;
            }
        }
        return n;
    }

    /** One line with its line end, or null at the end of the stream. */
    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        int c;
        while ((c = in.read()) != -1) {
            b.write(c);
            if (c == '\n' || b.size() >= MAX_LINE) {
                break;
            }
        }
        return b.size() == 0 ? null : b.toByteArray();
    }
}
