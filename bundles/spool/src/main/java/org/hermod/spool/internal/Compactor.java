package org.hermod.spool.internal;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reclaims journal space: deletes leading segments with no live message, and when an old segment is pinned by a few
 * long-deferred messages, copies them (with their current state) into the active segment so the old one can go.
 * Runs on the spool's housekeeping thread.
 */
final class Compactor {

    private static final Logger LOG = LoggerFactory.getLogger(Compactor.class);

    /** Reads a message's content from the journal. */
    interface ContentReader {
        byte[] content(MessageEntry m) throws IOException;
    }

    private final Journal journal;
    private final QueueIndex index;
    private final SpaceGuard space;
    private final ContentReader contents;
    private final long segmentSize;

    Compactor(Journal journal, QueueIndex index, SpaceGuard space, ContentReader contents, long segmentSize) {
        this.journal = journal;
        this.index = index;
        this.space = space;
        this.contents = contents;
        this.segmentSize = segmentSize;
    }

    /** One compaction run (at most about five seconds). */
    void compact() {
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            // order matters: a batch in flight pins the segment it started in until its messages are indexed
            int active = journal.activeSegment();
            int limit = Math.min(active, journal.writingFrom());
            List<Integer> segs = journal.segments();
            for (int seg : segs) {
                if (seg >= limit || System.nanoTime() > deadline) {
                    break;
                }
                if (!index.isLive(seg)) {
                    journal.deleteSegment(seg);
                    continue;
                }
                // Copy forward the few messages pinning an old segment. Always when the spool has grown large
                // (more than 8 segments behind the active one), otherwise only when little of the segment is live.
                boolean large = active - seg > 8;
                if (!relocate(seg, large) || index.isLive(seg)) {
                    // Still live (e.g. a message leased right now was not copied): stop here. Only a contiguous run of
                    // the oldest segments may go, since later segments hold the state, delete and hold records of the
                    // messages this one still holds; deleting them would bring delivered or deleted mail back.
                    break;
                }
                journal.deleteSegment(seg);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Spool compaction failed", e);
        }
    }

    /** Copies the live messages of a segment forward; false when it was not worth it (mostly live) or no room. */
    private boolean relocate(int seg, boolean force) throws IOException {
        List<MessageEntry> pinned = index.messagesInSegment(seg);
        long liveBytes = pinned.stream().mapToLong(m -> m.contentLength).sum();
        if (!force && liveBytes > segmentSize / 4) {
            return false; // still mostly live: not worth copying yet
        }
        if (!space.hasRoomFor(liveBytes)) {
            return false; // copying needs space first: the space below the floor is kept for delivery outcomes
        }
        for (MessageEntry m : pinned) {
            QueueIndex.Copy copy = index.copyForward(m, contents.content(m));
            if (copy == null) {
                continue; // gone, or leased: the segment waits for a later run
            }
            Journal.Location loc = copy.written().join();
            index.relocated(m, loc.segment(), loc.offset() + RecordCodec.HEADER + copy.headLength());
        }
        LOG.info("Spool segment {}: relocated {} long-queued messages so the segment can be reclaimed", seg, pinned.size());
        return true;
    }
}
