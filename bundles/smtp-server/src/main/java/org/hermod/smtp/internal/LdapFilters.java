package org.hermod.smtp.internal;

import java.nio.charset.StandardCharsets;

/**
 * LDAP search filters for recipient lookups: a template with {@code %s} (the whole address), {@code %u} (the local
 * part), {@code %d} (the domain) and {@code %%} (a percent sign), as in Postfix's ldap_table. Every value is escaped as
 * RFC 4515 3 requires ({@code * ( ) \ NUL} as {@code \2a \28 \29 \5c \00}), so an address can never change the
 * filter's structure (no wildcard, no injected clause).
 */
final class LdapFilters {

    private LdapFilters() {
    }

    /** The assertion value escaped per RFC 4515 (UTF-8 passes unchanged; it is valid in a filter string). */
    static String escape(String value) {
        StringBuilder sb = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '*' -> sb.append("\\2a");
                case '(' -> sb.append("\\28");
                case ')' -> sb.append("\\29");
                case '\\' -> sb.append("\\5c");
                case '\0' -> sb.append("\\00");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** The template with its placeholders replaced by the escaped parts of {@code local@domain}. */
    static String expand(String template, String local, String domain) {
        StringBuilder sb = new StringBuilder(template.length() + 64);
        for (int i = 0; i < template.length(); i++) {
            char c = template.charAt(i);
            if (c != '%' || i + 1 == template.length()) {
                sb.append(c);
                continue;
            }
            char k = template.charAt(++i);
            switch (k) {
                case 's' -> sb.append(escape(local + "@" + domain));
                case 'u' -> sb.append(escape(local));
                case 'd' -> sb.append(escape(domain));
                case '%' -> sb.append('%');
                default -> throw new IllegalArgumentException("ldapFilter: unknown placeholder %" + k
                        + " (use %s, %u, %d or %%)");
            }
        }
        return sb.toString();
    }

    /** Checks a template once at configuration time: placeholders known, parentheses balanced, at least one value. */
    static void validate(String template) {
        String probe = expand(template, "u", "d.test");
        int depth = 0;
        for (byte b : probe.getBytes(StandardCharsets.UTF_8)) {
            depth += b == '(' ? 1 : b == ')' ? -1 : 0;
            if (depth < 0) {
                break;
            }
        }
        if (depth != 0 || !probe.startsWith("(")) {
            throw new IllegalArgumentException("ldapFilter is not a parenthesised LDAP filter: " + template);
        }
        if (!template.contains("%s") && !template.contains("%u")) {
            throw new IllegalArgumentException("ldapFilter must use the address (%s) or its local part (%u): " + template);
        }
    }
}
