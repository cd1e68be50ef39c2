package org.hermod.smtp.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory all sessions together may hold in message data not yet handed to the spool. Messages are buffered in
 * memory until they are stored, so without a bound many large concurrent transfers could exhaust the heap; past the
 * bound a transfer is refused with a temporary {@code 452 4.3.1} and the client retries later.
 */
final class DataBudget {

    static final int CHUNK = 64 * 1024;

    private final AtomicLong used = new AtomicLong();
    private volatile long limit;

    DataBudget(long limit) {
        this.limit = limit;
    }

    void setLimit(long limit) {
        this.limit = limit;
    }

    boolean tryReserve(long n) {
        while (true) {
            long u = used.get();
            if (u + n > limit) {
                return false;
            }
            if (used.compareAndSet(u, u + n)) {
                return true;
            }
        }
    }

    void release(long n) {
        used.addAndGet(-n);
    }

    long used() {
        return used.get();
    }
}
