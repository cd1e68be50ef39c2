package org.hermod.api.filter;

/**
 * One header field of a message, unfolded.
 *
 * @param name the field name as written (compare case-insensitively)
 * @param value the field body with folding removed and leading white space stripped
 */
public record HeaderField(String name, String value) {

    public HeaderField {
        if (name == null || name.isEmpty() || !isFieldName(name)) {
            throw new IllegalArgumentException("not a header field name: " + name);
        }
        value = value == null ? "" : value;
        if (hasLineBreakOrNul(value)) {
            throw new IllegalArgumentException("header field value must not contain line breaks or NUL: " + name);
        }
    }

    private static boolean isFieldName(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c == ':' || c > '~') {
                return false;
            }
        }
        return true;
    }

    private static boolean hasLineBreakOrNul(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                return true;
            }
        }
        return false;
    }
}
