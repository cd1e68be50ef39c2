package org.hermod.api.spool;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The operator's view of and control over the queues (used by the shell commands). Thread-safe.
 * Domain arguments are case-insensitive; a null domain means every domain.
 */
@ProviderType
public interface QueueManager {

    /** One summary per destination domain that has queued mail, sorted by domain. */
    List<DomainSummary> summaries();

    /**
     * Queued messages per sender domain (the null sender as ""), most first: what traffic shaping's pools are chosen
     * by. A snapshot; counting runs outside the queue's lock.
     */
    java.util.Map<String, Integer> messagesBySenderDomain();

    /** Details of one queued message, or empty when no such message is queued. */
    Optional<MessageInfo> message(String queueId);

    /** Up to {@code limit} queue ids, oldest first, of one domain (or all when null). */
    List<String> queueIds(String domain, int limit);

    /** Makes deferred mail due now; returns how many items were woken. */
    int flush(String domain);

    /** Removes a message from the queue without any notice to the sender. */
    boolean delete(String queueId);

    /** Removes every message's recipients at a domain without notice; returns the number of messages touched. */
    int deleteDomain(String domain);

    /** Marks a message for bouncing: delivery fails it with a DSN to the sender right away. */
    boolean bounce(String queueId);

    /** Bounces every message queued for a domain; returns the number of messages touched. */
    int bounceDomain(String domain);

    /** Suspends delivery to a domain (mail stays queued, held); true if it was not suspended before. */
    boolean suspend(String domain);

    /** Resumes a suspended domain; true if it was suspended. */
    boolean resume(String domain);

    /**
     * Holds a message: it stays queued but is not delivered until released (it still expires by age); an attempt in
     * progress finishes. Durable. False when no such message is queued.
     */
    boolean hold(String queueId, String reason);

    /** Releases a held message for delivery now; false when it was not held. Durable. */
    boolean releaseHold(String queueId);

    /** Up to {@code limit} ids of held messages, oldest first. */
    List<String> held(int limit);

    /** The suspended domains. */
    List<String> suspended();
}
