package org.hermod.api.spool;

import java.time.Instant;
import java.util.List;

import org.hermod.api.Envelope;

/**
 * What the queue knows about one message.
 *
 * @param queueId the id given at acceptance
 * @param envelope the envelope as accepted (all recipients)
 * @param size content size in bytes
 * @param recipients every recipient with its state
 * @param headers the message's header section as stored (may be empty if unreadable)
 */
public record MessageInfo(String queueId, Envelope envelope, long size, List<RecipientState> recipients, String headers) {

    /**
     * @param address recipient address
     * @param state PENDING, DEFERRED, ACTIVE, HELD, DELIVERED, FAILED
     * @param attempts attempts made for the recipient's domain
     * @param nextAttempt when it is due next, or null
     * @param lastReply the last reply seen, or null
     */
    public record RecipientState(String address, String state, int attempts, Instant nextAttempt, String lastReply) {
    }
}
