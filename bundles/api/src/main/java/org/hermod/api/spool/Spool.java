package org.hermod.api.spool;

import java.util.concurrent.CompletableFuture;
import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Accepts messages into the durable spool.
 *
 * <p>Threading: {@link #store} may be called from any thread, including a Netty event loop; it never blocks on I/O.
 * The returned future completes (on a spool thread) only once envelope and content are written and fsynced, so a caller
 * may answer 250 when it completes. It completes exceptionally when the message could not be made durable, with a
 * {@link SpoolFullException} when the spool refuses new mail for lack of disk space (a client should get 452 4.3.1).
 */
@ProviderType
public interface Spool {

    /**
     * Stores a message durably and queues it for delivery.
     *
     * @param envelope the envelope as accepted
     * @param content the whole message, headers and body, CRLF line endings, already dot-unstuffed; not modified afterwards
     * @return the queue id once the message is on disk and fsynced
     */
    CompletableFuture<String> store(Envelope envelope, byte[] content);

    /**
     * Stores a message under an id obtained from {@link #newQueueId()} (so that the id can appear in the message's own
     * Received: header). Otherwise as {@link #store(Envelope, byte[])}.
     */
    CompletableFuture<String> store(String queueId, Envelope envelope, byte[] content);

    /**
     * Stores a message with the route its filters decided, optionally on hold, in one durable write: the route and the
     * hold are on disk before the returned future completes, as the message is. A held message is queued but not
     * delivered until an operator releases it ({@link QueueManager#releaseHold}); it still expires by age.
     * Otherwise as {@link #store(String, Envelope, byte[])}.
     *
     * @param route the route (stored with the message, given to delivery); {@link Route#DEFAULT} for none
     * @param holdReason why the message is held (shown to operators), or null to queue it for delivery
     */
    CompletableFuture<String> store(String queueId, Envelope envelope, Route route, String holdReason, byte[] content);

    /** A fresh, unique queue id. */
    String newQueueId();
}
