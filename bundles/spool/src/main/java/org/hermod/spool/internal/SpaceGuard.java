package org.hermod.spool.internal;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.hermod.api.spool.SpoolFullException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spool's free-space floor, as Postfix's {@code queue_minfree}: new mail is refused while the spool's file system
 * has less than the floor free (minus what the message needs), so that the space below the floor stays for what must
 * still be written: delivery outcomes, deletions and holds (small records), which are never refused. The free space is
 * read from the file system at most once a second (and at once after a failed write); between reads the bytes
 * appended are subtracted, so a burst cannot overshoot the floor by more than a second's worth of refusals. Thread-safe;
 * {@link #admit} never blocks on more than one {@code statvfs} call.
 */
final class SpaceGuard {

    private static final Logger LOG = LoggerFactory.getLogger(SpaceGuard.class);
    private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final LongSupplier usableSpace;
    private final long floor;
    private final String where;
    private final AtomicLong appendedSinceRead = new AtomicLong();
    private final AtomicLong readAt = new AtomicLong(System.nanoTime() - 2 * REFRESH_NANOS);
    private final AtomicBoolean refusing = new AtomicBoolean();
    private volatile long usable = Long.MAX_VALUE;

    /**
     * @param usableSpace reads the bytes free for this process now (or throws {@link java.io.UncheckedIOException})
     * @param floor bytes that must stay free after a new message is written; 0 disables the floor
     */
    SpaceGuard(LongSupplier usableSpace, long floor, String where) {
        this.usableSpace = usableSpace;
        this.floor = Math.max(0, floor);
        this.where = where;
    }

    /** A guard for the file system holding {@code dir}. */
    static SpaceGuard forDirectory(Path dir, long floor) throws IOException {
        FileStore store = Files.getFileStore(dir);
        return new SpaceGuard(() -> {
            try {
                return store.getUsableSpace();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, floor, dir.toString());
    }

    /**
     * Admits a new message of {@code bytes}, or returns why not.
     *
     * @return null when admitted, else the exception to fail the store with
     */
    SpoolFullException admit(long bytes) {
        long now = System.nanoTime();
        long last = readAt.get();
        if (now - last > REFRESH_NANOS && readAt.compareAndSet(last, now)) {
            read();
        }
        long free = usable - appendedSinceRead.get();
        if (floor > 0 && free - bytes < floor) {
            if (refusing.compareAndSet(false, true)) {
                LOG.error("Spool file system {} has {} MiB free, below the floor of {} MiB (minFreeSpaceMb): new mail"
                        + " is refused with 452 4.3.1 until space returns; queued mail is still delivered", where,
                        free >> 20, floor >> 20);
            }
            return full(free);
        }
        if (refusing.compareAndSet(true, false)) {
            LOG.info("Spool file system {} has {} MiB free again: accepting new mail", where, free >> 20);
        }
        return null;
    }

    /** Counts bytes written since the last read of the free space. */
    void appended(long bytes) {
        appendedSinceRead.addAndGet(bytes);
    }

    /** Reads the free space now (after a failed write: the next admission sees the truth). */
    void read() {
        try {
            long before = appendedSinceRead.get();
            long u = usableSpace.getAsLong();
            // only what the read can have seen: bytes appended while it ran stay counted (perhaps twice, never lost)
            appendedSinceRead.addAndGet(-before);
            usable = u;
        } catch (RuntimeException e) {
            LOG.warn("Cannot read the free space of {}: {}", where, e.toString());
        }
        readAt.set(System.nanoTime());
    }

    /** Whether a failed write most likely failed for lack of space (then new mail gets a 4xx "insufficient storage"). */
    boolean isOutOfSpace(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SpoolFullException
                    || (c.getMessage() != null && c.getMessage().contains("No space left on device"))) {
                return true;
            }
        }
        read();
        return floor > 0 && usable < floor;
    }

    SpoolFullException full(long free) {
        return new SpoolFullException("spool file system " + where + " is full (" + Math.max(0, free) / 1024
                + " KiB free, floor " + floor / 1024 + " KiB)");
    }

    /** Whether {@code bytes} more can be written for housekeeping (compaction) without going below the floor. */
    boolean hasRoomFor(long bytes) {
        return usable - appendedSinceRead.get() - bytes >= floor;
    }
}
