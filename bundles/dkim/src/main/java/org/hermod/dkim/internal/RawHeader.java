package org.hermod.dkim.internal;

import java.nio.charset.StandardCharsets;

/**
 * One header field exactly as it is in the message: its name and its bytes from the name to the end of its last line
 * (folding included, the final CRLF excluded). Signing works on these bytes, never on a re-serialised form.
 *
 * @param name the field name as written
 * @param raw the field's bytes
 */
record RawHeader(String name, byte[] raw) {

    /** A field from text (tests and the signature's own field), ISO-8859-1 so that bytes map 1:1. */
    static RawHeader of(String field) {
        int colon = field.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not a header field: " + field);
        }
        return new RawHeader(field.substring(0, colon).strip(), field.getBytes(StandardCharsets.ISO_8859_1));
    }
}
