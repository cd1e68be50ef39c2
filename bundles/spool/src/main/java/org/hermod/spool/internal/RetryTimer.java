package org.hermod.spool.internal;

/**
 * The thread that makes deferred mail due at its retry time (and returns held mail past its maximum age): it asks the
 * {@link QueueIndex} to wake what is due, tells the ready listeners when something woke, and sleeps until the next due
 * time (at most a second), or until the index reports an earlier one ({@link #earlierDeadline}).
 */
final class RetryTimer {

    private final QueueIndex index;
    private final Runnable onReady;
    private final Thread thread;
    private final Object monitor = new Object();
    private boolean nudged; // guarded by monitor
    private volatile boolean running = true;

    /**
     * @param index the index whose due slots to wake; it must call {@link #earlierDeadline} (set up by the caller)
     * @param onReady called (on the timer's thread) when slots became due
     */
    RetryTimer(QueueIndex index, Runnable onReady) {
        this.index = index;
        this.onReady = onReady;
        this.thread = new Thread(this::run, "hermod-spool-timer");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** The index has a slot due earlier than the timer may be waiting for. Never blocks for long. */
    void earlierDeadline() {
        synchronized (monitor) {
            nudged = true;
            monitor.notifyAll();
        }
    }

    private void run() {
        while (running) {
            long now = System.currentTimeMillis();
            QueueIndex.Wake wake = index.wakeDue(now);
            if (wake.woke()) {
                onReady.run();
                continue;
            }
            long wait = Math.max(1, Math.min(1000, wake.nextDue() - now));
            synchronized (monitor) {
                try {
                    if (!nudged && running) {
                        monitor.wait(wait);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                nudged = false;
            }
        }
    }

    void stop() {
        running = false;
        earlierDeadline();
    }
}
