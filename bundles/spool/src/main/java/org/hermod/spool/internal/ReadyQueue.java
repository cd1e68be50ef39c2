package org.hermod.spool.internal;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

/**
 * One destination's due slots: higher {@link org.hermod.api.routing.Route#priority()} first, and within one priority in
 * the order they became due (oldest first). One FIFO per priority in use, so mail of normal priority costs what a plain
 * FIFO costs. Not thread-safe: the {@link QueueIndex} guards it.
 */
final class ReadyQueue {

    private final TreeMap<Integer, ArrayDeque<Slot>> byPriority = new TreeMap<>(Comparator.reverseOrder());

    void add(Slot s) {
        byPriority.computeIfAbsent(s.msg.route.priority(), p -> new ArrayDeque<>()).addLast(s);
    }

    /** The next slot to lease, removed; null when empty. */
    Slot poll() {
        Map.Entry<Integer, ArrayDeque<Slot>> first = byPriority.firstEntry();
        if (first == null) {
            return null;
        }
        Slot s = first.getValue().pollFirst();
        if (first.getValue().isEmpty()) {
            byPriority.remove(first.getKey());
        }
        return s;
    }

    void remove(Slot s) {
        int p = s.msg.route.priority();
        ArrayDeque<Slot> q = byPriority.get(p);
        if (q != null && q.remove(s) && q.isEmpty()) {
            byPriority.remove(p);
        }
    }

    boolean isEmpty() {
        return byPriority.isEmpty();
    }
}
