package org.hermod.shaping.internal;

import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls into a strategy (another bundle's code) so that nothing it does (an exception, a stack overflow, a class that
 * fails to link) reaches a delivery thread: the caller's fallback is used and the failure logged (once a minute per
 * call site at most, so a broken strategy cannot flood the log).
 */
final class Guard {

    private static final Logger LOG = LoggerFactory.getLogger(Guard.class);
    private static final long QUIET_NANOS = 60_000_000_000L;
    private final java.util.concurrent.ConcurrentHashMap<String, Long> last = new java.util.concurrent.ConcurrentHashMap<>();

    <T> T call(String what, Supplier<T> call, T fallback) {
        try {
            T t = call.get();
            return t == null ? fallback : t;
        } catch (Throwable e) { // NOPMD: a plug-in's failure of any kind must stay in the plug-in
            if (e instanceof VirtualMachineError && !(e instanceof StackOverflowError)) {
                throw (VirtualMachineError) e;
            }
            long now = System.nanoTime();
            Long before = last.get(what);
            if (before == null || now - before > QUIET_NANOS) {
                last.put(what, now);
                LOG.warn("shaping strategy call {} failed; using the fallback: {}", what, e.toString());
            }
            return fallback;
        }
    }

    void run(String what, Runnable r) {
        call(what, () -> {
            r.run();
            return Boolean.TRUE;
        }, Boolean.FALSE);
    }
}
