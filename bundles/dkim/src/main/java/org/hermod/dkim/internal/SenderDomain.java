package org.hermod.dkim.internal;

import java.net.IDN;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The domain of the author: the first mailbox of the From: field (RFC 5322 section 3.6.2), comments and display
 * names skipped, lower case, an internationalised domain in its A-label form. Null when there is none.
 */
final class SenderDomain {

    private SenderDomain() {
    }

    /** The domain of the first From: field's first mailbox, or null. */
    static String ofFrom(List<RawHeader> headers) {
        for (RawHeader f : headers) {
            if (f.name().equalsIgnoreCase("From")) {
                String raw = new String(f.raw(), StandardCharsets.UTF_8);
                return ofMailboxList(raw.substring(raw.indexOf(':') + 1));
            }
        }
        return null;
    }

    /** The domain of the first mailbox in a mailbox-list (or group), or null. */
    static String ofMailboxList(String value) {
        String v = stripCommentsAndQuotes(value.replace("\r\n", ""));
        int lt = v.indexOf('<');
        String addr;
        if (lt >= 0) {
            int gt = v.indexOf('>', lt);
            addr = v.substring(lt + 1, gt < 0 ? v.length() : gt);
        } else {
            int colon = v.indexOf(':'); // a group: "name: a@b, c@d;"
            String list = colon >= 0 ? v.substring(colon + 1) : v;
            int comma = list.indexOf(',');
            addr = (comma >= 0 ? list.substring(0, comma) : list).replace(";", "");
        }
        int at = addr.lastIndexOf('@');
        if (at < 0) {
            return null;
        }
        return normalise(addr.substring(at + 1));
    }

    /** A domain as configuration and d= use it: trimmed, no trailing dot, lower case, A-labels; null if unusable. */
    static String normalise(String domain) {
        String d = domain.strip();
        if (d.startsWith("[") || d.isEmpty()) { // a domain literal cannot sign
            return null;
        }
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        try {
            d = IDN.toASCII(d, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return null;
        }
        return d.isEmpty() || d.chars().anyMatch(c -> c <= ' ' || c == '@' || c == '<' || c == '>' || c == ',')
                ? null : d;
    }

    /** Removes (comments) and turns "quoted strings" into placeholders, so their '@', '<' and ',' do not count. */
    private static String stripCommentsAndQuotes(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int depth = 0;
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && (quoted || depth > 0)) {
                i++;
                if (quoted) {
                    out.append('x');
                }
                continue;
            }
            if (quoted) {
                if (c == '"') {
                    quoted = false;
                }
                out.append(c == '"' ? '"' : 'x');
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && depth > 0) {
                depth--;
            } else if (depth == 0) {
                if (c == '"') {
                    quoted = true;
                }
                out.append(c);
            }
        }
        return out.toString();
    }
}
