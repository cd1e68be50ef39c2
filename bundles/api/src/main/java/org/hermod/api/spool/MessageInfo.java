package org.hermod.api.spool;

import java.time.Instant;
import java.util.List;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;

/**
 * What the queue knows about one message.
 *
 * @param queueId the id given at acceptance
 * @param envelope the envelope as accepted (all recipients)
 * @param size content size in bytes
 * @param recipients every recipient with its state
 * @param headers the message's header section as stored (may be empty if unreadable)
 * @param route the route stored with the message ({@link Route#DEFAULT} when none)
 * @param holdReason why the message is held, or null when it is not
 */
public record MessageInfo(String queueId, Envelope envelope, long size, List<RecipientState> recipients, String headers,
                          Route route, String holdReason) {

    public MessageInfo {
        route = route == null ? Route.DEFAULT : route;
    }

    /** A message without route or hold (as queued before routing existed). */
    public MessageInfo(String queueId, Envelope envelope, long size, List<RecipientState> recipients, String headers) {
        this(queueId, envelope, size, recipients, headers, Route.DEFAULT, null);
    }

    /**
     * @param address recipient address
     * @param state where the recipient stands
     * @param attempts attempts made for the recipient's domain
     * @param nextAttempt when it is due next, or null
     * @param lastReply the last reply seen, or null
     */
    public record RecipientState(String address, State state, int attempts, Instant nextAttempt, String lastReply) {
    }

    /** Where one recipient of a queued message stands. */
    public enum State {
        /** Due now, waiting for a delivery slot. */
        QUEUED,
        /** Deferred after a temporary failure; due again at its next attempt. */
        DEFERRED,
        /** Leased to delivery right now. */
        ACTIVE,
        /** Its destination is suspended by an operator. */
        HELD,
        /** Delivered: final. */
        DELIVERED,
        /** Failed permanently (a DSN went to the sender if asked for): final. */
        FAILED
    }
}
