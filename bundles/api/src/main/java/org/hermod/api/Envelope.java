package org.hermod.api;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The SMTP envelope of one message as received: reverse-path, forward-paths and the ESMTP parameters that
 * later stages need (DSN RET/ENVID, BODY, SMTPUTF8), plus where it came from.
 *
 * @param sender reverse-path; {@link MailAddress#NULL_SENDER} for bounces
 * @param recipients forward-paths in the order the client gave them
 * @param ret RET= (FULL or HDRS), or null when not given
 * @param envId ENVID= as given (xtext-decoded), or null
 * @param body BODY= (7BIT, 8BITMIME, BINARYMIME), never null
 * @param smtpUtf8 whether the client declared SMTPUTF8
 * @param heloName the name the client gave in HELO/EHLO
 * @param clientAddress the client's IP address, textual
 * @param receivedAt when the message was accepted
 */
public record Envelope(MailAddress sender, List<Recipient> recipients, Ret ret, String envId, BodyType body,
                       boolean smtpUtf8, String heloName, String clientAddress, Instant receivedAt) {

    public Envelope {
        Objects.requireNonNull(sender, "sender");
        recipients = List.copyOf(recipients);
        body = body == null ? BodyType.SEVEN_BIT : body;
        heloName = heloName == null ? "" : heloName;
        clientAddress = clientAddress == null ? "" : clientAddress;
        receivedAt = receivedAt == null ? Instant.now() : receivedAt;
    }

    /** An envelope generated locally (e.g. a DSN), with no client. */
    public static Envelope local(MailAddress sender, List<Recipient> recipients, BodyType body) {
        return new Envelope(sender, recipients, null, null, body, false, "localhost", "127.0.0.1", Instant.now());
    }

    /** Returns a copy with other recipients (same sender and parameters). */
    public Envelope withRecipients(List<Recipient> rcpts) {
        return new Envelope(sender, rcpts, ret, envId, body, smtpUtf8, heloName, clientAddress, receivedAt);
    }

    /** RFC 3461 RET values. */
    public enum Ret { FULL, HDRS }

    /** RFC 6152 / 3030 BODY values. */
    public enum BodyType {
        SEVEN_BIT("7BIT"), EIGHT_BIT_MIME("8BITMIME"), BINARY_MIME("BINARYMIME");

        private final String keyword;

        BodyType(String keyword) {
            this.keyword = keyword;
        }

        public String keyword() {
            return keyword;
        }

        public static BodyType fromKeyword(String s) {
            for (BodyType b : values()) {
                if (b.keyword.equalsIgnoreCase(s)) {
                    return b;
                }
            }
            throw new IllegalArgumentException("unknown BODY: " + s);
        }
    }
}
