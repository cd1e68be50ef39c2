package org.hermod.routing.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Call latencies in a fixed set of logarithmic buckets (four per power of two of microseconds, from 1 µs to about 70
 * minutes; longer calls count in the last), lock-free: recording is a few atomic increments. The p99 is the upper
 * bound of the bucket it falls in, so it is at most 25% high.
 */
final class LatencyHistogram {

    private static final int SUB = 4;
    private static final int BUCKETS = 32 * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final LongAdder total = new LongAdder();
    private final LongAdder sumMicros = new LongAdder();

    void record(long nanos) {
        long micros = Math.max(1, nanos / 1000);
        counts.incrementAndGet(bucket(micros));
        total.increment();
        sumMicros.add(micros);
    }

    static int bucket(long micros) {
        int log = 63 - Long.numberOfLeadingZeros(micros);
        int sub = log >= 2 ? (int) ((micros >>> (log - 2)) & (SUB - 1)) : (int) ((micros << (2 - log)) & (SUB - 1));
        return Math.min(BUCKETS - 1, log * SUB + sub);
    }

    /** The largest value (µs) of a bucket. */
    static double upperMicros(int bucket) {
        int log = bucket / SUB;
        int sub = bucket % SUB;
        return Math.pow(2, log) * (1 + (sub + 1) / (double) SUB);
    }

    double meanMillis() {
        long n = total.sum();
        return n == 0 ? 0 : sumMicros.sum() / (double) n / 1000.0;
    }

    double percentileMillis(double p) {
        long[] snap = new long[BUCKETS];
        long n = 0;
        for (int i = 0; i < BUCKETS; i++) {
            snap[i] = counts.get(i);
            n += snap[i];
        }
        if (n == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(p * n);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += snap[i];
            if (seen >= rank) {
                return upperMicros(i) / 1000.0;
            }
        }
        return upperMicros(BUCKETS - 1) / 1000.0;
    }
}
