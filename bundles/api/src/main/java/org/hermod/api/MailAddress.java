package org.hermod.api;

import java.util.Locale;
import java.util.Objects;

/**
 * A mailbox address as used in the SMTP envelope. The null reverse-path {@code <>} is a value ({@link #NULL_SENDER}), not a null.
 * The local part is kept exactly as given (it is case-sensitive per RFC 5321); the domain is compared case-insensitively.
 */
public record MailAddress(String localPart, String domain) {

    /** The null reverse-path {@code <>} used by bounces. */
    public static final MailAddress NULL_SENDER = new MailAddress("", "");

    public MailAddress {
        Objects.requireNonNull(localPart, "localPart");
        Objects.requireNonNull(domain, "domain");
    }

    /** Parses {@code local@domain} (no angle brackets). Returns {@link #NULL_SENDER} for an empty string. */
    public static MailAddress parse(String address) {
        if (address == null || address.isEmpty()) {
            return NULL_SENDER;
        }
        int at = address.lastIndexOf('@');
        if (at <= 0 || at == address.length() - 1) {
            throw new IllegalArgumentException("not a mailbox address: " + address);
        }
        return new MailAddress(address.substring(0, at), address.substring(at + 1));
    }

    public boolean isNullSender() {
        return localPart.isEmpty() && domain.isEmpty();
    }

    /** The domain in lower case, the key of per-destination queues. */
    public String domainKey() {
        return domain.toLowerCase(Locale.ROOT);
    }

    /** True when the address needs SMTPUTF8 (non-ASCII characters). */
    public boolean isInternational() {
        return !isAscii(localPart) || !isAscii(domain);
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 127) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return isNullSender() ? "" : localPart + "@" + domain;
    }

    /** The address in angle brackets, as written in MAIL FROM / RCPT TO. */
    public String toSmtpPath() {
        return "<" + this + ">";
    }
}
