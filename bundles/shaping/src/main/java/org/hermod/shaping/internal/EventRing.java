package org.hermod.shaping.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.hermod.api.shaping.ShapingEvent;

/** The most recent shaping events in memory, for {@code hermod:shaping-events}. Thread-safe; bounded. */
final class EventRing {

    private final ArrayDeque<ShapingEvent> events = new ArrayDeque<>();
    private volatile int capacity;

    EventRing(int capacity) {
        this.capacity = Math.max(1, capacity);
    }

    void capacity(int c) {
        this.capacity = Math.max(1, c);
    }

    synchronized void add(ShapingEvent e) {
        events.addLast(e);
        while (events.size() > capacity) {
            events.removeFirst();
        }
    }

    /** Newest first; {@code site} and {@code source} filter when not null ("*" in an event's path matches any). */
    synchronized List<ShapingEvent> newest(String site, String source, int limit) {
        List<ShapingEvent> out = new ArrayList<>();
        Iterator<ShapingEvent> it = events.descendingIterator();
        while (it.hasNext() && out.size() < Math.max(0, limit)) {
            ShapingEvent e = it.next();
            if (site != null && (e.path() == null
                    || !(site.equalsIgnoreCase(e.path().site()) || "*".equals(e.path().site())))) {
                continue;
            }
            if (source != null && (e.path() == null
                    || !(source.equals(e.path().source()) || "*".equals(e.path().source())))) {
                continue;
            }
            out.add(e);
        }
        return out;
    }
}
