package org.hermod.smtp.internal;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import io.netty.buffer.ByteBuf;

/**
 * The header fields Hermod adds to an accepted message: its Received: trace field (RFC 5321 4.4, with the RFC 3848
 * protocol names ESMTPS/ESMTPA/ESMTPSA, the TLS version and cipher, and the authenticated user when configured), and a
 * Message-ID: when the message has none. The content itself stays byte-exact.
 */
final class TraceHeaders {

    private static final DateTimeFormatter RFC5322 = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    /** What the Received: field says about the session. {@code tls}/{@code authUser} null when not used. */
    record Origin(String helo, InetAddress client, boolean esmtp, boolean utf8, String tls, String authUser,
                  boolean showAuthUser) {
    }

    private TraceHeaders() {
    }

    /** The message with our fields in front. {@code recipient} is named in the "for" clause; null for several. */
    static byte[] prepend(ByteBuf body, String id, String hostname, Origin o, String recipient) {
        StringBuilder h = new StringBuilder(256);
        String ip = o.client().getHostAddress();
        h.append("Received: from ").append(heloName(o.helo())).append(" (")
                .append(ip.contains(":") ? "[IPv6:" + ip + "]" : "[" + ip + "]").append(")\r\n");
        if (o.tls() != null) {
            h.append("\t(using ").append(o.tls()).append(")\r\n");
        }
        if (o.authUser() != null && o.showAuthUser()) {
            h.append("\t(Authenticated sender: ").append(printable(o.authUser())).append(")\r\n");
        }
        h.append("\tby ").append(hostname).append(" (Hermod) with ")
                .append(o.utf8() ? "UTF8SMTP" : o.esmtp() ? "ESMTP" : "SMTP")
                .append(o.tls() != null ? "S" : "").append(o.authUser() != null ? "A" : "")
                .append(" id ").append(id);
        if (recipient != null) {
            h.append("\r\n\tfor ").append(recipient);
        }
        h.append("; ").append(ZonedDateTime.now().format(RFC5322)).append("\r\n");
        if (!hasHeader(body, "message-id")) {
            h.append("Message-ID: <").append(id).append('@').append(hostname).append(">\r\n");
        }
        byte[] head = h.toString().getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + body.readableBytes()];
        System.arraycopy(head, 0, out, 0, head.length);
        body.getBytes(body.readerIndex(), out, head.length, body.readableBytes());
        return out;
    }

    /**
     * A client-supplied name made safe for a header comment or a log line: control characters (CR, LF: header and log
     * injection), parentheses and backslashes become '?'.
     */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length() && i < 256; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7F || c == '(' || c == ')' || c == '\\' ? '?' : c);
        }
        return b.toString();
    }

    /** Most octets of the EHLO name written into Received: (a host name has at most 255, RFC 1035 2.3.4). */
    static final int MAX_HELO_OCTETS = 255;

    /**
     * The EHLO/HELO name as written after "from": {@link #printable} (no CR/LF, no parentheses that would unbalance
     * the comment), no ';' (it ends the trace field's clauses before the date) and no '"', and at most
     * {@value #MAX_HELO_OCTETS} UTF-8 octets, never splitting a character, so the line stays far below 998 octets.
     */
    static String heloName(String helo) {
        if (helo == null) {
            return "unknown";
        }
        String p = printable(helo).replace(';', '?').replace('"', '?');
        int octets = 0;
        int i = 0;
        while (i < p.length()) {
            int cp = p.codePointAt(i);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (octets + n > MAX_HELO_OCTETS) {
                break;
            }
            octets += n;
            i += Character.charCount(cp);
        }
        return p.substring(0, i);
    }

    /** Whether the header section (up to the first empty line) has a field of this name. */
    static boolean hasHeader(ByteBuf body, String lowerName) {
        int i = body.readerIndex();
        int end = body.writerIndex();
        int n = lowerName.length();
        while (i < end) {
            if (body.getByte(i) == '\r' && i + 1 < end && body.getByte(i + 1) == '\n') {
                return false; // empty line: end of headers
            }
            if (i + n < end && body.getByte(i + n) == ':') {
                boolean match = true;
                for (int k = 0; k < n; k++) {
                    if (Character.toLowerCase((char) body.getByte(i + k)) != lowerName.charAt(k)) {
                        match = false;
                        break;
                    }
                }
                if (match) {
                    return true;
                }
            }
            int lf = body.indexOf(i, end, (byte) '\n');
            if (lf < 0) {
                return false;
            }
            i = lf + 1;
        }
        return false;
    }
}
