package org.hermod.api.spool;

import java.time.Instant;

/**
 * The state of one destination queue.
 *
 * @param domain destination domain
 * @param messages messages with pending recipients there
 * @param deferred of those, how many wait for a retry
 * @param active of those, how many are leased to delivery right now
 * @param suspended whether delivery to the domain is suspended
 * @param oldestArrival arrival of the oldest message, or null
 * @param nextAttempt the earliest next attempt of a deferred message, or null
 * @param lastError the last temporary error seen for the domain, or null
 */
public record DomainSummary(String domain, int messages, int deferred, int active, boolean suspended,
                            Instant oldestArrival, Instant nextAttempt, String lastError) {
}
