package org.hermod.api.spool;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

import org.hermod.api.Envelope;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One leased unit of delivery work: one message and those of its recipients at one destination domain that are still
 * pending. The lease must end with exactly one {@link #complete} or {@link #release}.
 */
@ProviderType
public interface DeliveryItem {

    String queueId();

    /** The destination domain, lower case. */
    String domain();

    /** The message's envelope with only the pending recipients of {@link #domain()}. */
    Envelope envelope();

    /** Delivery attempts already made for this domain's recipients. */
    int attempts();

    /** When the message was accepted. */
    Instant arrival();

    /** Size of the stored content in bytes. */
    long size();

    /** True when an operator asked to bounce this message: delivery must fail every recipient with a DSN, not deliver. */
    boolean bounceRequested();

    /** Reads the stored content (headers and body, CRLF) from the spool. */
    byte[] content() throws IOException;

    /**
     * Ends the lease with the outcome of each recipient. Delivered and failed recipients are final and never tried again;
     * deferred ones become due again at {@code retryAt}. The outcome is recorded durably (group-committed) before the
     * returned call ends its effect on the index; when no recipient remains pending the message leaves the spool.
     *
     * @param results one result for each recipient of {@link #envelope()}; recipients not mentioned stay pending
     * @param retryAt when deferred recipients are due again (ignored if none is deferred)
     */
    void complete(List<RecipientResult> results, Instant retryAt);

    /** Gives the item back unchanged (no attempt counted), e.g. when delivery is shutting down. */
    void release();
}
