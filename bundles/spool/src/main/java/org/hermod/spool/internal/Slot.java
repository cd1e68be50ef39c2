package org.hermod.spool.internal;

import java.util.Arrays;
import java.util.List;

import org.hermod.api.Recipient;

/**
 * A message's pending recipients at one domain: the unit of scheduling and leasing in the {@link QueueIndex}. Guarded
 * by the index's lock, except the final fields.
 */
final class Slot {

    /** Where a slot is: due, waiting for its retry time, leased to delivery, or held with its message. */
    enum State { READY, DEFERRED, LEASED, HELD }

    final MessageEntry msg;
    final String domain;
    /** Creation order: ties in the timers are broken by it. */
    final long seq;
    int attempts;
    long nextAttempt;
    /** Epoch millis when the last attempt ended; 0 when none. */
    long lastAttempt;
    String lastError;
    State state;
    boolean bounceRequested;

    Slot(MessageEntry msg, String domain, long seq) {
        this.msg = msg;
        this.domain = domain;
        this.seq = seq;
    }

    /** Indexes of the message's recipients at this domain that are still pending. */
    int[] pendingRecipients() {
        List<Recipient> r = msg.envelope.recipients();
        int n = 0;
        int[] tmp = new int[r.size()];
        for (int i = 0; i < r.size(); i++) {
            if (msg.rcptStatus[i] == QueueIndex.PENDING && r.get(i).address().domainKey().equals(domain)) {
                tmp[n++] = i;
            }
        }
        return Arrays.copyOf(tmp, n);
    }
}
