package org.hermod.bounce.internal.rules;

import java.util.Locale;

/**
 * How strong the evidence a rule relies on is (ADR 0005). The shipped rules are tried strongest level first, in file
 * order within a level, so a vague signal never outranks a precise one in the same failure. Declaration order is
 * precedence order.
 */
public enum Evidence {
    /** No SMTP reply at all: a connection, DNS, TLS or queue-age failure ({@code kind=}). */
    CONNECTION("connection"),
    /** A code or phrase one provider documents for itself (Gmail's {@code 4.2.1} rate limit, Yahoo's {@code TSS04}). */
    PROVIDER_CODE("provider-code"),
    /** An RFC 3463 enhanced status x.y.z with z != 0 whose meaning is specific ({@code 5.1.1}, {@code 4.2.2}). */
    SPECIFIC_STATUS("specific-status"),
    /** A narrow phrase that names one cause ("mailbox is full", "blocked using zen.spamhaus.org"). */
    SPECIFIC_PHRASE("specific-phrase"),
    /** An enhanced status class (x.y.0, or a detail every provider overloads such as 5.7.1). */
    STATUS_CLASS("status-class"),
    /** A broad word that many causes share ("rejected", "denied", "blocked", "timeout"). */
    GENERIC_PHRASE("generic-phrase"),
    /** The reply code alone (550, 4xx). */
    REPLY_CODE("reply-code");

    private final String label;

    Evidence(String label) {
        this.label = label;
    }

    /** The name used in rule files ({@code level=}) and in traces. */
    public String label() {
        return label;
    }

    public static Evidence of(String label) {
        String l = label.trim().toLowerCase(Locale.ROOT);
        for (Evidence e : values()) {
            if (e.label.equals(l)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown level '" + label + "' (connection, provider-code, specific-status,"
                + " specific-phrase, status-class, generic-phrase, reply-code)");
    }

    /**
     * The level a rule without {@code level=} gets from its positive conditions: a failure kind, else an enhanced
     * status (specific when every alternative names a non-zero detail), else a phrase, else the reply code.
     */
    static Evidence derive(java.util.List<Condition> conditions) {
        boolean status = false, specific = true, text = false, kind = false, provider = false;
        for (Condition c : conditions) {
            for (Condition o : c instanceof Condition.AnyOf any ? any.options() : new Condition[] {c}) {
                if (o instanceof Condition.Status s) {
                    status = true;
                    specific &= s.specific();
                } else if (o instanceof Condition.Text) {
                    text = true;
                } else if (o instanceof Condition.KindIs) {
                    kind = true;
                } else if (o instanceof Condition.Provider) {
                    provider = true;
                }
            }
        }
        if (kind) {
            return CONNECTION;
        }
        if (provider) {
            return PROVIDER_CODE;
        }
        if (status) {
            return specific ? SPECIFIC_STATUS : STATUS_CLASS;
        }
        return text ? SPECIFIC_PHRASE : REPLY_CODE;
    }
}
