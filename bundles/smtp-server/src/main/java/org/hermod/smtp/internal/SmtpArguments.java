package org.hermod.smtp.internal;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.hermod.api.MailAddress;

/** Parses the path and ESMTP parameters of MAIL FROM and RCPT TO (RFC 5321 4.1.2, RFC 3461, RFC 6531). */
final class SmtpArguments {

    private static final java.util.regex.Pattern SPACES = java.util.regex.Pattern.compile(" +");

    /** A parsed "FROM:&lt;path&gt; params" or "TO:&lt;path&gt; params". */
    record PathAndParams(MailAddress address, Map<String, String> params) {
    }

    /** Thrown for syntax errors; the message is the reply text. */
    static final class SyntaxException extends Exception {
        final String enhanced;

        SyntaxException(String enhanced, String message) {
            super(message, null, false, false);
            this.enhanced = enhanced;
        }
    }

    private SmtpArguments() {
    }

    /**
     * @param arg the text after the verb, e.g. "FROM:&lt;a@b&gt; SIZE=10"
     * @param keyword "FROM" or "TO"
     * @param allowNull whether "&lt;&gt;" is allowed
     */
    static PathAndParams parse(String arg, String keyword, boolean allowNull, String badAddressStatus)
            throws SyntaxException {
        String a = arg.stripLeading();
        if (a.length() < keyword.length() + 1 || !a.regionMatches(true, 0, keyword + ":", 0, keyword.length() + 1)) {
            throw new SyntaxException("5.5.4", "Syntax: " + (keyword.equals("FROM") ? "MAIL FROM:<address>" : "RCPT TO:<address>"));
        }
        a = a.substring(keyword.length() + 1).stripLeading();
        if (!a.startsWith("<")) {
            throw new SyntaxException("5.5.4", "Syntax: " + (keyword.equals("FROM") ? "MAIL FROM:<address>" : "RCPT TO:<address>"));
        }
        int close = findClose(a);
        if (close < 0) {
            throw new SyntaxException(badAddressStatus, "Bad address syntax: missing '>'");
        }
        String path = a.substring(1, close);
        String rest = a.substring(close + 1);
        if (!rest.isEmpty() && rest.charAt(0) != ' ') {
            throw new SyntaxException("5.5.4", "Syntax error after address");
        }
        MailAddress address;
        if (path.isEmpty()) {
            if (!allowNull) {
                throw new SyntaxException(badAddressStatus, "Bad address syntax: empty address");
            }
            address = MailAddress.NULL_SENDER;
        } else {
            address = parseMailbox(stripSourceRoute(path), badAddressStatus);
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (String p : SPACES.split(rest.trim())) {
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String key = (eq < 0 ? p : p.substring(0, eq)).toUpperCase(Locale.ROOT);
            if (key.isEmpty() || params.containsKey(key)) {
                throw new SyntaxException("5.5.4", "Bad or repeated parameter: " + p);
            }
            params.put(key, eq < 0 ? null : p.substring(eq + 1));
        }
        return new PathAndParams(address, params);
    }

    private static int findClose(String a) {
        boolean quoted = false;
        for (int i = 1; i < a.length(); i++) {
            char c = a.charAt(i);
            if (c == '\\' && quoted) {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == '>' && !quoted) {
                return i;
            }
        }
        return -1;
    }

    private static String stripSourceRoute(String path) {
        if (path.startsWith("@")) {
            int colon = path.indexOf(':');
            return colon < 0 ? path : path.substring(colon + 1);
        }
        return path;
    }

    static MailAddress parseMailbox(String s, String status) throws SyntaxException {
        int at = s.lastIndexOf('@');
        if (at <= 0 || at == s.length() - 1) {
            throw new SyntaxException(status, "Bad address syntax: " + s);
        }
        String local = s.substring(0, at);
        String domain = s.substring(at + 1);
        if (!validLocal(local) || !validDomain(domain)) {
            throw new SyntaxException(status, "Bad address syntax: " + s);
        }
        return new MailAddress(local, domain);
    }

    private static boolean validLocal(String l) {
        if (l.length() > 64 * 4) {
            return false;
        }
        if (l.startsWith("\"") && l.endsWith("\"") && l.length() >= 2) {
            return true;
        }
        if (l.startsWith(".") || l.endsWith(".") || l.contains("..")) {
            return false;
        }
        for (int i = 0; i < l.length(); i++) {
            char c = l.charAt(i);
            if (c <= ' ' || "()<>[]\\,;:@\"".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean validDomain(String d) {
        if (d.startsWith("[") && d.endsWith("]")) {
            return d.length() > 2;
        }
        if (d.length() > 255 || d.startsWith(".") || d.endsWith(".") || d.contains("..")) {
            return false;
        }
        for (int i = 0; i < d.length(); i++) {
            char c = d.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '-' || c == '.' || c > 127)) {
                return false;
            }
        }
        return true;
    }

    /** Decodes RFC 3461 xtext ("+HH" escapes). */
    static String xtextDecode(String s) throws SyntaxException {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '+') {
                if (i + 2 >= s.length()) {
                    throw new SyntaxException("5.5.4", "Bad xtext");
                }
                try {
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 3), 16));
                } catch (NumberFormatException e) {
                    throw new SyntaxException("5.5.4", "Bad xtext");
                }
                i += 2;
            } else if (c < '!' || c > '~' || c == '=') {
                throw new SyntaxException("5.5.4", "Bad xtext");
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
