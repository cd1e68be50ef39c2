package org.hermod.spool.internal;

import org.hermod.api.routing.Route;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.hermod.api.Envelope;
import org.hermod.api.Recipient;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.RecipientResult;

/** A slot leased to delivery. The lease ends exactly once. */
final class LeasedItem implements DeliveryItem {

    private final SpoolService spool;
    private final Slot slot;
    private final int[] rcptIndexes;
    private final Envelope envelope;
    private final int attempts;
    private final boolean bounceRequested;
    private final Instant lastAttempt;
    private boolean done;

    LeasedItem(SpoolService spool, Slot slot, int[] rcptIndexes) {
        this.spool = spool;
        this.slot = slot;
        this.rcptIndexes = rcptIndexes;
        List<Recipient> all = slot.msg.envelope.recipients();
        List<Recipient> mine = new ArrayList<>(rcptIndexes.length);
        for (int i : rcptIndexes) {
            mine.add(all.get(i));
        }
        this.envelope = slot.msg.envelope.withRecipients(mine);
        this.attempts = slot.attempts;
        this.bounceRequested = slot.bounceRequested;
        this.lastAttempt = slot.lastAttempt == 0 ? null : Instant.ofEpochMilli(slot.lastAttempt);
    }

    @Override
    public String queueId() {
        return slot.msg.id;
    }

    @Override
    public String domain() {
        return slot.domain;
    }

    @Override
    public Envelope envelope() {
        return envelope;
    }

    @Override
    public int attempts() {
        return attempts;
    }

    @Override
    public Instant lastAttempt() {
        return lastAttempt;
    }

    @Override
    public Route route() {
        return slot.msg.route;
    }

    @Override
    public Instant arrival() {
        return slot.msg.envelope.receivedAt();
    }

    @Override
    public long size() {
        return slot.msg.contentLength;
    }

    @Override
    public boolean bounceRequested() {
        return bounceRequested;
    }

    @Override
    public byte[] content() throws IOException {
        return spool.content(slot.msg);
    }

    @Override
    public byte[] contentInMemory() {
        return spool.contentInMemory(slot.msg);
    }

    @Override
    public synchronized CompletionStage<Void> complete(List<RecipientResult> results, Instant retryAt) {
        if (done) {
            return CompletableFuture.failedFuture(new IllegalStateException("lease of " + queueId() + " already ended"));
        }
        if (retryAt == null && leavesPending(results)) {
            throw new IllegalArgumentException("recipients that stay pending (deferred or not mentioned) need a retry time");
        }
        done = true;
        List<Recipient> rcpts = envelope.recipients();
        boolean[] used = new boolean[rcpts.size()];
        int[] idx = new int[results.size()];
        byte[] status = new byte[results.size()];
        int n = 0;
        String lastError = null;
        for (RecipientResult r : results) {
            for (int i = 0; i < rcpts.size(); i++) {
                if (!used[i] && rcpts.get(i).equals(r.recipient())) {
                    used[i] = true;
                    if (r.status() == RecipientResult.Status.DEFERRED) {
                        if (lastError == null && r.reply() != null) {
                            lastError = r.reply().toString();
                        }
                    } else {
                        idx[n] = rcptIndexes[i];
                        status[n] = r.status() == RecipientResult.Status.DELIVERED ? QueueIndex.DELIVERED : QueueIndex.FAILED;
                        n++;
                    }
                    break;
                }
            }
        }
        long retry = retryAt == null ? 0 : retryAt.toEpochMilli();
        return spool.complete(slot, java.util.Arrays.copyOf(idx, n), java.util.Arrays.copyOf(status, n), true, retry,
                lastError);
    }

    /** Whether some recipient of this lease is deferred or not mentioned, so stays pending after the results. */
    private boolean leavesPending(List<RecipientResult> results) {
        int decided = 0;
        for (RecipientResult r : results) {
            if (r.status() == RecipientResult.Status.DEFERRED) {
                return true;
            }
            decided++;
        }
        return decided < envelope.recipients().size();
    }

    @Override
    public synchronized boolean release() {
        if (done) {
            return false;
        }
        done = true;
        spool.complete(slot, new int[0], new byte[0], false, 0, null);
        return true;
    }

    @Override
    public synchronized boolean isLeased() {
        return !done;
    }
}
