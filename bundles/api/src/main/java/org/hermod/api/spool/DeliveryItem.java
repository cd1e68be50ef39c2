package org.hermod.api.spool;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One leased unit of delivery work: one message and those of its recipients at one destination domain that are still
 * pending. The lease ends with exactly one {@link #complete} or {@link #release}; whichever comes first ends it, and the
 * item itself guards that (a consumer needs no guard of its own): a later {@code release} is a no-op that returns false,
 * a later {@code complete} has no effect and its stage fails with {@link IllegalStateException}.
 *
 * <p>Threading: every method may be called from any thread and never blocks on I/O, except {@link #content()}.
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

    /**
     * When the last attempt for this domain's recipients ended, as recorded by the spool; null before the first, and
     * also when it was not recorded (mail queued by Hermod 0.1 with {@code attempts() > 0}).
     */
    Instant lastAttempt();

    /** The route stored with the message ({@link Route#DEFAULT} when none was decided). */
    Route route();

    /** When the message was accepted. */
    Instant arrival();

    /** Size of the stored content in bytes. */
    long size();

    /** True when an operator asked to bounce this message: delivery must fail every recipient with a DSN, not deliver. */
    boolean bounceRequested();

    /** Reads the stored content (headers and body, CRLF) from the spool. */
    byte[] content() throws IOException;

    /**
     * The content when the spool has it at hand without I/O (a message's first delivery moments after it was stored),
     * handed out once; null otherwise: then read {@link #content()} where blocking is allowed. Never blocks.
     *
     * @since 2.1
     */
    default byte[] contentInMemory() {
        return null;
    }

    /**
     * Ends the lease with the outcome of each recipient. Delivered and failed recipients are final and never tried again;
     * deferred ones become due again at {@code retryAt} (the caller's retry schedule decides it; the spool only keeps
     * it). The spool records the attempt's time ({@link #lastAttempt()} of the next lease) and counts it.
     *
     * <p>The returned stage completes once the outcome is durable (group-committed) and visible in the queue; when no
     * recipient remains pending the message has then left the spool. It completes on a spool thread (never the
     * journal's writer): do not block in dependent stages. It completes exceptionally when the outcome could not be
     * recorded (the item is then due again and the attempt will be repeated: at-least-once), or with
     * {@link IllegalStateException} when the lease had already ended. A call that is wrong in itself (below) throws
     * at once and leaves the lease held.
     *
     * @param results one result for each recipient of {@link #envelope()}; recipients not mentioned stay pending
     * @param retryAt when recipients that stay pending (deferred or not mentioned) are due again; required then
     * @throws IllegalArgumentException when some recipient stays pending and {@code retryAt} is null
     */
    CompletionStage<Void> complete(List<RecipientResult> results, Instant retryAt);

    /**
     * Gives the item back unchanged (no attempt counted), e.g. when delivery is shutting down; it is due again at once.
     *
     * @return true when this call ended the lease, false when it had already ended
     */
    boolean release();

    /** True until the lease ends by {@link #complete} or {@link #release}. */
    boolean isLeased();
}
