package org.hermod.api;

import java.util.Objects;
import java.util.Set;

/**
 * One envelope recipient with its RFC 3461 DSN parameters.
 *
 * @param address the forward-path
 * @param notifyOn NOTIFY= values; empty when the client gave none (then the default, FAILURE, applies)
 * @param orcpt ORCPT= value stored xtext-DECODED as {@code addr-type;address} (e.g. {@code rfc822;user+tag@example.com}
 *              for {@code ORCPT=rfc822;user+2Btag@example.com}), or null; whoever sends it on in SMTP must xtext-encode
 *              the part after ';' again
 */
public record Recipient(MailAddress address, Set<Notify> notifyOn, String orcpt) {

    public Recipient {
        Objects.requireNonNull(address, "address");
        notifyOn = Set.copyOf(notifyOn == null ? Set.of() : notifyOn);
    }

    public static Recipient of(MailAddress address) {
        return new Recipient(address, Set.of(), null);
    }

    /** Whether a failure DSN should be sent for this recipient (RFC 3461 4.1: default is FAILURE). */
    public boolean wantsFailureNotice() {
        return notifyOn.isEmpty() || notifyOn.contains(Notify.FAILURE);
    }

    public boolean wantsDelayNotice() {
        return notifyOn.contains(Notify.DELAY);
    }

    public boolean wantsSuccessNotice() {
        return notifyOn.contains(Notify.SUCCESS);
    }

    /** RFC 3461 NOTIFY values. */
    public enum Notify { NEVER, SUCCESS, FAILURE, DELAY }
}
