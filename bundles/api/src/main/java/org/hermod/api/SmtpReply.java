package org.hermod.api;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An SMTP reply: a three-digit code, an optional RFC 3463 enhanced status code and one or more text lines.
 * Used both for what Hermod answers its clients and for what remote servers answered Hermod.
 */
public record SmtpReply(int code, String enhancedStatus, List<String> lines) {

    public SmtpReply {
        if (code < 100 || code > 599) {
            throw new IllegalArgumentException("reply code out of range: " + code);
        }
        lines = List.copyOf(lines == null || lines.isEmpty() ? List.of("") : lines);
        enhancedStatus = enhancedStatus == null || enhancedStatus.isEmpty() ? null : enhancedStatus;
    }

    private static final Pattern STATUS = Pattern.compile("[245]\\.[0-9]{1,3}\\.[0-9]{1,3}");

    /**
     * Whether {@code status} is an RFC 3463 enhanced status code ({@code class.subject.detail}, class 2, 4 or 5, one to
     * three digits each) whose class is the first digit of reply {@code code}.
     *
     * @since 1.1
     */
    public static boolean isEnhancedStatusOf(String status, int code) {
        return status != null && !status.isEmpty() && status.charAt(0) == (char) ('0' + code / 100)
                && STATUS.matcher(status).matches();
    }

    public static SmtpReply of(int code, String enhancedStatus, String text) {
        return new SmtpReply(code, enhancedStatus, List.of(text));
    }

    public boolean isPositive() {
        return code < 400;
    }

    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    public boolean isPermanent() {
        return code >= 500;
    }

    /** All text lines joined by a space, without codes. */
    public String text() {
        return String.join(" ", lines);
    }

    /** Renders the reply as it goes on the wire, CRLF-terminated, continuation lines with '-'. */
    public String toWire() {
        StringBuilder sb = new StringBuilder(64);
        for (int i = 0; i < lines.size(); i++) {
            sb.append(code).append(i == lines.size() - 1 ? ' ' : '-');
            if (enhancedStatus != null) {
                sb.append(enhancedStatus).append(' ');
            }
            sb.append(lines.get(i)).append("\r\n");
        }
        return sb.toString();
    }

    /** One line, e.g. {@code 550 5.1.1 User unknown}, for logs and DSN Diagnostic-Code fields. */
    @Override
    public String toString() {
        return code + (enhancedStatus == null ? "" : " " + enhancedStatus) + " " + text();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SmtpReply r && r.code == code && Objects.equals(r.enhancedStatus, enhancedStatus)
                && r.lines.equals(lines);
    }

    @Override
    public int hashCode() {
        return Objects.hash(code, enhancedStatus, lines);
    }
}
