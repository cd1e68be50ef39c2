package org.hermod.shaping.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps calls into strategies and a handover of state between strategies apart. A call counts itself in (one atomic
 * increment; it looks the strategy up only after that) and out; a handover closes the gate, waits until the calls
 * under way have returned, moves the state, and opens the gate again. So a feedback that the outgoing strategy is
 * still processing lands in the state that is exported, and one that arrives meanwhile waits and then goes to the
 * incoming strategy after its state was imported: none is applied to a state that the handover then overwrites.
 * Calls wait only while a handover runs (a strategy swap or a new assignment: rare, and short).
 *
 * <p>Both waits are bounded ({@code maxMillis}): a strategy stuck in a call, or in an import, must not stop delivery
 * or the handover for ever; past the bound each side goes on (and the handover says so).
 *
 * <p>Threading: {@link #enter}/{@link #exit} from any thread; {@link #close}/{@link #open} from one thread at a time
 * (the shaping service calls them under its own lock).
 */
final class HandoverGate {

    private final AtomicLong inside = new AtomicLong();
    private final long maxNanos;
    private volatile boolean closed;

    HandoverGate(long maxMillis) {
        this.maxNanos = TimeUnit.MILLISECONDS.toNanos(maxMillis);
    }

    /** Before a call into a strategy (look the strategy up after this); always followed by {@link #exit}. */
    void enter() {
        long deadline = 0;
        int spins = 0;
        while (true) {
            if (!closed) {
                inside.incrementAndGet();
                if (!closed) {
                    return;
                }
                inside.decrementAndGet(); // a handover began meanwhile: wait for it
            }
            if (deadline == 0) {
                deadline = System.nanoTime() + maxNanos;
            } else if (System.nanoTime() - deadline > 0) {
                inside.incrementAndGet(); // the handover takes too long: go on
                return;
            }
            spins = pause(spins);
        }
    }

    void exit() {
        inside.decrementAndGet();
    }

    /**
     * Closes the gate and waits until the calls under way have returned.
     *
     * @return false when some call was still under way after the bound
     */
    boolean close() {
        closed = true;
        long deadline = System.nanoTime() + maxNanos;
        int spins = 0;
        while (inside.get() > 0) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            spins = pause(spins);
        }
        return true;
    }

    void open() {
        closed = false;
    }

    private static int pause(int spins) {
        if (spins < 100) {
            Thread.onSpinWait();
        } else if (spins < 200) {
            Thread.yield();
        } else {
            try {
                Thread.sleep(0, 100_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return spins + 1;
    }
}
