package org.hermod.itests;

import java.util.concurrent.Callable;

/** Polls a condition until it holds or a deadline passes: waiting on an outcome, never for a fixed time. */
public final class Await {

    private static final long POLL_MILLIS = 50;

    private Await() {
    }

    /**
     * Returns the first value {@code check} gives that is neither null nor false; fails with {@code what} after
     * {@code seconds}.
     */
    public static <T> T value(String what, int seconds, Callable<T> check) throws Exception {
        Object[] box = new Object[1];
        until(what, seconds, () -> {
            Object v = check.call();
            box[0] = v;
            return v != null && !Boolean.FALSE.equals(v);
        });
        @SuppressWarnings("unchecked")
        T v = (T) box[0];
        return v;
    }

    /** Returns when {@code condition} is true; fails with {@code what} after {@code seconds}. */
    public static void until(String what, int seconds, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        Exception last = null;
        while (true) {
            try {
                if (Boolean.TRUE.equals(condition.call())) {
                    return;
                }
                last = null;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + seconds + " s: " + what, last);
            }
            Thread.sleep(POLL_MILLIS); // the poll interval, not a wait for the outcome
        }
    }
}
