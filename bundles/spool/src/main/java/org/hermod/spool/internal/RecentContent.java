package org.hermod.spool.internal;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The content of messages just stored, kept in memory up to a byte budget (the oldest goes first) so that a message's
 * first delivery, usually moments after it was accepted, does not read it back from the journal: the read, the JDK's
 * copy through a temporary direct buffer and a heap array per message cost several percent of the CPU of relaying
 * 100 KB mail. What is kept is the very array that was written and fsynced, handed out once: a second read (a retry,
 * another destination of the same message) reads the journal. Thread-safe.
 */
final class RecentContent {

    private final long budget;
    private final Map<MessageEntry, byte[]> kept = new LinkedHashMap<>();
    private long bytes;

    /** @param budget bytes kept at most; 0 keeps nothing */
    RecentContent(long budget) {
        this.budget = Math.max(0, budget);
    }

    /** Keeps a stored message's content (unless empty or larger than the whole budget), dropping the oldest to fit. */
    synchronized void put(MessageEntry m, byte[] content) {
        if (content.length == 0 || content.length > budget) {
            return;
        }
        byte[] old = kept.put(m, content);
        bytes += content.length - (old == null ? 0 : old.length);
        Iterator<byte[]> oldest = kept.values().iterator();
        while (bytes > budget && oldest.hasNext()) {
            bytes -= oldest.next().length;
            oldest.remove();
        }
    }

    /** The content kept for {@code m}, no longer kept; null when it is not (read the journal). */
    synchronized byte[] take(MessageEntry m) {
        byte[] c = kept.remove(m);
        if (c != null) {
            bytes -= c.length;
        }
        return c;
    }

    /** Bytes kept now. */
    synchronized long bytes() {
        return bytes;
    }
}
