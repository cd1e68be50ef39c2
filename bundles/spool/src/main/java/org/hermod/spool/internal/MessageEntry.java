package org.hermod.spool.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;

/**
 * One queued message in the {@link QueueIndex}: envelope, per-recipient status ({@link QueueIndex#PENDING} and so on),
 * its {@link Slot}s by destination domain, route, hold, and where its content is in the journal. Guarded by the
 * index's lock, except the final fields.
 */
final class MessageEntry {
    final String id;
    final Envelope envelope;
    final byte[] rcptStatus;
    final Map<String, Slot> slots = new LinkedHashMap<>();
    final Route route;
    /** Why the message is held; null when it is not. */
    String holdReason;
    int segment;
    long contentOffset;
    int contentLength;

    MessageEntry(String id, Envelope envelope, byte[] rcptStatus, Route route, String holdReason) {
        this.id = id;
        this.envelope = envelope;
        this.rcptStatus = rcptStatus;
        this.route = route == null ? Route.DEFAULT : route;
        this.holdReason = holdReason;
    }

    List<Slot> slots() {
        return new ArrayList<>(slots.values());
    }

    long arrival() {
        return envelope.receivedAt().toEpochMilli();
    }
}
