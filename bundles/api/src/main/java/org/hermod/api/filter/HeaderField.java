package org.hermod.api.filter;

/**
 * One header field of a message, unfolded.
 *
 * @param name the field name as written (compare case-insensitively)
 * @param value the field body with folding removed and leading white space stripped
 */
public record HeaderField(String name, String value) {

    public HeaderField {
        if (name == null || name.isEmpty() || name.chars().anyMatch(c -> c <= ' ' || c == ':' || c > '~')) {
            throw new IllegalArgumentException("not a header field name: " + name);
        }
        value = value == null ? "" : value;
        if (value.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) {
            throw new IllegalArgumentException("header field value must not contain line breaks or NUL: " + name);
        }
    }
}
