package org.hermod.api.spool;

import java.util.List;
import java.util.Set;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The consumer side of the queue: per-destination (domain) ready queues that delivery leases from.
 *
 * <p>Items become ready when their next attempt is due; the queue wakes them with a timer, it never scans the whole
 * index. A leased item is invisible to other {@link #lease} calls until it is completed or released; leases are not
 * durable, so a crash during delivery leaves the message queued and it is tried again after restart.
 * All methods are thread-safe and non-blocking.
 */
@ProviderType
public interface DeliveryQueue {

    /** A snapshot of the destination domains that have at least one due, unleased item. */
    Set<String> readyDomains();

    /**
     * Leases up to {@code max} due items of one domain, oldest first.
     *
     * @return the leased items, possibly empty
     */
    List<DeliveryItem> lease(String domain, int max);

    /** Adds a hook run (on a queue thread, must not block) whenever some domain gets newly due items. */
    void addReadyListener(Runnable listener);

    void removeReadyListener(Runnable listener);
}
