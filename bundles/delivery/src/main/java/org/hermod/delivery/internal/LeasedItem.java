package org.hermod.delivery.internal;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.RecipientResult;

/** A leased item whose lease ends exactly once, by completion or by release (e.g. at shutdown), whichever comes first. */
final class LeasedItem {

    final DeliveryItem item;
    private final AtomicBoolean ended = new AtomicBoolean();

    LeasedItem(DeliveryItem item) {
        this.item = item;
    }

    boolean complete(List<RecipientResult> results, Instant retryAt) {
        if (ended.compareAndSet(false, true)) {
            item.complete(results, retryAt);
            return true;
        }
        return false;
    }

    boolean release() {
        if (ended.compareAndSet(false, true)) {
            item.release();
            return true;
        }
        return false;
    }

    boolean ended() {
        return ended.get();
    }
}
