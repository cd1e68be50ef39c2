package org.hermod.dkim.internal;

import java.io.ByteArrayOutputStream;
import java.util.Locale;
import java.nio.charset.StandardCharsets;

/**
 * The "relaxed" header canonicalisation of RFC 6376 section 3.4.2, on the field's bytes: the name lower-cased, folding
 * removed, runs of white space made one space, white space at the ends of the value and around the colon removed.
 * Bytes above 0x7F pass through unchanged.
 */
final class Relaxed {

    private Relaxed() {
    }

    /** The canonical form of one field followed by CRLF. */
    static byte[] header(RawHeader field) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(field.raw().length + 2);
        writeHeader(field.raw(), out);
        out.write('\r');
        out.write('\n');
        return out.toByteArray();
    }

    /** The canonical form of one field without a CRLF (how the signature's own field is hashed). */
    static byte[] headerWithoutCrlf(String field) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(field.length());
        writeHeader(field.getBytes(StandardCharsets.ISO_8859_1), out);
        return out.toByteArray();
    }

    private static void writeHeader(byte[] raw, ByteArrayOutputStream out) {
        int colon = 0;
        while (colon < raw.length && raw[colon] != ':') {
            colon++;
        }
        String name = new String(raw, 0, colon, StandardCharsets.ISO_8859_1).strip().toLowerCase(Locale.ROOT);
        byte[] n = name.getBytes(StandardCharsets.ISO_8859_1);
        out.write(n, 0, n.length);
        out.write(':');
        boolean started = false;
        boolean space = false;
        for (int i = colon + 1; i < raw.length; i++) {
            byte b = raw[i];
            if (b == '\r' && i + 1 < raw.length && raw[i + 1] == '\n') { // unfold
                i++;
                continue;
            }
            if (b == ' ' || b == '\t') {
                space = started;
                continue;
            }
            if (space) {
                out.write(' ');
                space = false;
            }
            out.write(b);
            started = true;
        }
    }
}
