package org.hermod.delivery.internal.dsn;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;

/**
 * Builds RFC 3464 delivery status notifications: {@code multipart/report; report-type=delivery-status} with a
 * human-readable part, a {@code message/delivery-status} part and the original message ({@code message/rfc822}) or
 * only its header ({@code text/rfc822-headers}) when the sender asked for RET=HDRS. Addresses needing UTF-8 are written
 * with the {@code utf-8} address type (RFC 6533). Output lines end in CRLF. Stateless and thread-safe.
 */
public final class DsnBuilder {

    private static final DateTimeFormatter RFC5322 = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    private final String reportingMta;
    private final ZoneId zone;

    public DsnBuilder(String reportingMta) {
        this(reportingMta, ZoneId.systemDefault());
    }

    public DsnBuilder(String reportingMta, ZoneId zone) {
        this.reportingMta = reportingMta;
        this.zone = zone;
    }

    /** The envelope of a DSN for a message with this envelope: null sender, to the original sender. */
    public static Envelope envelopeFor(Envelope original, byte[] dsn) {
        boolean eight = false;
        for (byte b : dsn) {
            if (b < 0) {
                eight = true;
                break;
            }
        }
        return Envelope.local(MailAddress.NULL_SENDER, List.of(Recipient.of(original.sender())),
                eight ? Envelope.BodyType.EIGHT_BIT_MIME : Envelope.BodyType.SEVEN_BIT);
    }

    /**
     * @param original the original envelope (sender, RET, ENVID)
     * @param queueId the original queue id
     * @param arrival when the original was accepted
     * @param recipients the recipients to report, all with the same action
     * @param content the original message (may be empty when it could not be read)
     * @param now the report time
     */
    public byte[] build(Envelope original, String queueId, Instant arrival, List<DsnRecipient> recipients, byte[] content,
                        Instant now) {
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("no recipients to report");
        }
        boolean delayed = recipients.stream().allMatch(r -> r.action().equals("delayed"));
        String boundary = "=_hermod_" + UUID.randomUUID().toString().replace("-", "");
        StringBuilder h = new StringBuilder(1024);
        header(h, "From", "Mail Delivery System <MAILER-DAEMON@" + reportingMta + ">");
        header(h, "To", "<" + original.sender() + ">");
        header(h, "Subject", delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender");
        header(h, "Date", RFC5322.format(now.atZone(zone)));
        header(h, "Message-ID", "<" + queueId + "." + now.toEpochMilli() + ".dsn@" + reportingMta + ">");
        header(h, "Auto-Submitted", "auto-replied");
        header(h, "MIME-Version", "1.0");
        header(h, "Content-Type", "multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"");
        h.append("\r\n");
        h.append("This is a MIME-encapsulated message.\r\n\r\n");

        // 1. human-readable part
        h.append("--").append(boundary).append("\r\n");
        h.append("Content-Description: Notification\r\n");
        h.append("Content-Type: text/plain; charset=utf-8\r\n");
        h.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
        h.append("This is the mail system at host ").append(reportingMta).append(".\r\n\r\n");
        if (delayed) {
            h.append("Your message could not be delivered yet to the recipients below.\r\n");
            h.append("It will be tried again; you do not need to send it again.\r\n\r\n");
        } else {
            h.append("I'm sorry to have to inform you that your message could not\r\n");
            h.append("be delivered to one or more recipients. It's attached below.\r\n\r\n");
        }
        for (DsnRecipient r : recipients) {
            h.append("<").append(r.recipient().address()).append(">");
            if (r.remoteMta() != null) {
                h.append(" (host ").append(r.remoteMta()).append(")");
            }
            h.append(": ");
            if (r.status().equals("4.4.7") || r.status().equals("5.4.7")) {
                h.append("delivery time expired. ");
            }
            h.append(r.diagnostic() == null ? r.status() : r.diagnostic().toString()).append("\r\n");
            if (r.willRetryUntil() != null) {
                h.append("    (will be retried until ").append(RFC5322.format(r.willRetryUntil().atZone(zone)))
                        .append(")\r\n");
            }
        }
        h.append("\r\n");

        // 2. machine-readable part
        h.append("--").append(boundary).append("\r\n");
        h.append("Content-Description: Delivery report\r\n");
        h.append("Content-Type: message/delivery-status\r\n\r\n");
        h.append("Reporting-MTA: dns; ").append(reportingMta).append("\r\n");
        h.append("X-Hermod-Queue-ID: ").append(queueId).append("\r\n");
        if (original.envId() != null) {
            h.append("Original-Envelope-Id: ").append(oneLine(original.envId())).append("\r\n");
        }
        h.append("Arrival-Date: ").append(RFC5322.format(arrival.atZone(zone))).append("\r\n");
        for (DsnRecipient r : recipients) {
            h.append("\r\n");
            MailAddress a = r.recipient().address();
            if (r.recipient().orcpt() != null) {
                h.append("Original-Recipient: ").append(orcpt(r.recipient().orcpt())).append("\r\n");
            }
            h.append("Final-Recipient: ").append(a.isInternational() ? "utf-8; " : "rfc822; ").append(a).append("\r\n");
            h.append("Action: ").append(r.action()).append("\r\n");
            h.append("Status: ").append(r.status()).append("\r\n");
            if (r.remoteMta() != null) {
                h.append("Remote-MTA: dns; ").append(r.remoteMta()).append("\r\n");
            }
            if (r.diagnostic() != null) {
                h.append("Diagnostic-Code: smtp; ").append(oneLine(r.diagnostic().toString())).append("\r\n");
            }
            if (r.lastAttempt() != null) {
                h.append("Last-Attempt-Date: ").append(RFC5322.format(r.lastAttempt().atZone(zone))).append("\r\n");
            }
            if (r.willRetryUntil() != null) {
                h.append("Will-Retry-Until: ").append(RFC5322.format(r.willRetryUntil().atZone(zone))).append("\r\n");
            }
        }
        h.append("\r\n");

        // 3. the original message or its header
        boolean headersOnly = original.ret() == Envelope.Ret.HDRS || delayed;
        byte[] part3 = headersOnly ? headerSection(content) : content;
        boolean eight = false;
        for (byte b : part3) {
            if (b < 0) {
                eight = true;
                break;
            }
        }
        h.append("--").append(boundary).append("\r\n");
        h.append("Content-Description: ").append(headersOnly ? "Undelivered Message Headers" : "Undelivered Message")
                .append("\r\n");
        h.append("Content-Type: ").append(headersOnly ? "text/rfc822-headers" : "message/rfc822").append("\r\n");
        h.append("Content-Transfer-Encoding: ").append(eight ? "8bit" : "7bit").append("\r\n\r\n");

        ByteArrayOutputStream out = new ByteArrayOutputStream(h.length() + part3.length + 128);
        out.writeBytes(h.toString().getBytes(StandardCharsets.UTF_8));
        out.writeBytes(part3);
        if (part3.length > 0 && !(part3.length >= 2 && part3[part3.length - 2] == '\r' && part3[part3.length - 1] == '\n')) {
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** The header section of a message, including the blank line that ends it when present. */
    static byte[] headerSection(byte[] content) {
        for (int i = 0; i + 1 < content.length; i++) {
            if (content[i] == '\n' && (content[i + 1] == '\n'
                    || (content[i + 1] == '\r' && i + 2 < content.length && content[i + 2] == '\n'))) {
                return java.util.Arrays.copyOf(content, i + 1);
            }
        }
        return content;
    }

    /** ORCPT is stored {@code type;address}, already xtext-decoded; RFC 3464 wants {@code type; address}. */
    static String orcpt(String orcpt) {
        int semi = orcpt.indexOf(';');
        if (semi < 0) {
            return "rfc822; " + oneLine(orcpt.trim());
        }
        return oneLine(orcpt.substring(0, semi).trim()) + "; " + oneLine(orcpt.substring(semi + 1).trim());
    }

    private static String oneLine(String s) {
        return s.replace("\r", " ").replace("\n", " ");
    }

    private static void header(StringBuilder sb, String name, String value) {
        sb.append(name).append(": ").append(value).append("\r\n");
    }
}
