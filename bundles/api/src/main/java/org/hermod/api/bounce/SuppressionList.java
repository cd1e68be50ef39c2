package org.hermod.api.bounce;

import java.util.List;

import org.hermod.api.MailAddress;
import org.hermod.api.SmtpReply;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Addresses Hermod must not send to any more (hard bounces, complaints, operator entries). Addresses are compared
 * lower-cased. {@link #contains} is an in-memory lookup and safe to call on hot paths; writes go through to durable
 * storage. Thread-safe.
 *
 * <p>An SPI: the default list keeps its entries in Derby; a bundle may register another store (a list shared by
 * several nodes, say) with a higher {@code service.ranking}. The contract test {@code SuppressionListContract} in the
 * API's test-jar states what every implementation must do.
 */
@ConsumerType
public interface SuppressionList {

    /**
     * The one reply for a suppressed recipient, wherever it is refused: at RCPT by the SMTP server, or before a
     * connection is made by delivery (mail queued before the address was suppressed).
     */
    static SmtpReply refusal(MailAddress recipient) {
        return SmtpReply.of(550, "5.7.1", "<" + recipient + ">: Recipient address rejected: on the suppression list"
                + " (earlier hard bounce or complaint)");
    }

    /** Adds the address; returns false when it was already present (the existing entry is kept). */
    boolean add(String address, String reason, String source);

    /** Removes the address; returns false when it was not present. */
    boolean remove(String address);

    boolean contains(String address);

    /** The entries, newest first, at most {@code limit} of them. */
    List<SuppressionEntry> list(int limit);

    int size();
}
