package org.hermod.spool.internal;

import java.util.LinkedHashSet;

/** One destination domain's queue in the {@link QueueIndex}, with its counts. Guarded by the index's lock. */
final class DomainQueue {
    final String name;
    /** Due slots by route priority, highest first; oldest first within one priority. */
    final ReadyQueue ready = new ReadyQueue();
    final LinkedHashSet<Slot> all = new LinkedHashSet<>();
    int deferred;
    int held;
    int active;
    String lastError;

    DomainQueue(String name) {
        this.name = name;
    }
}
