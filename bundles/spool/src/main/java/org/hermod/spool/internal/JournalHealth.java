package org.hermod.spool.internal;

/**
 * Whether the journal can be written. When recording a delivery outcome fails (read-only remount, EIO, ENOSPC with no
 * free-space floor), the delivered message must not become due again at once: it would be leased and delivered again
 * in a tight loop for as long as the disk refuses writes. After a failure the journal counts as unhealthy: the slot
 * waits a backoff (1 minute, doubling up to 1 hour with each further failure) and no lease is handed out until that
 * backoff has passed (the next outcome then acts as the probe) or another journal write succeeds.
 */
final class JournalHealth {

    static final long FIRST_BACKOFF_MS = 60_000;
    static final long MAX_BACKOFF_MS = 3_600_000;

    private int failures;
    private long unhealthyUntil;

    /** A journal write failed. @return when the slot whose outcome was lost may be tried again (epoch millis) */
    synchronized long failed(long now) {
        failures = Math.min(failures + 1, 30);
        long backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS << Math.min(failures - 1, 20));
        unhealthyUntil = now + backoff;
        return unhealthyUntil;
    }

    /** A journal write succeeded: leases resume and the backoff starts over. */
    synchronized void succeeded() {
        failures = 0;
        unhealthyUntil = 0;
    }

    /** @return whether leases are held back because the last journal write failed */
    synchronized boolean unhealthy(long now) {
        return now < unhealthyUntil;
    }
}
