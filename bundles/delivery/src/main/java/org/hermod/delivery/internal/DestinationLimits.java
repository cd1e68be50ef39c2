package org.hermod.delivery.internal;

import java.util.HashMap;
import java.util.Map;

/**
 * How many deliveries run at once, per egress path (key {@code source->site}) and overall: the dispatcher takes a slot
 * before it starts a delivery and gives it back when the delivery ends. Thread-safe.
 */
public class DestinationLimits {

    private final Map<String, Integer> active = new HashMap<>();
    private int total;
    private volatile int globalMax;

    public DestinationLimits(int globalMax) {
        this.globalMax = globalMax;
    }

    public void globalMax(int max) {
        this.globalMax = max;
    }

    /** How many more deliveries may start overall now. */
    public synchronized int globalSpareCount() {
        return Math.max(0, globalMax - total);
    }

    public synchronized boolean globalSpare() {
        return total < globalMax;
    }

    /** Takes one slot; returns false (and takes nothing) when no slot is free. */
    public synchronized boolean tryAcquire(String domain, int domainMax) {
        int a = active.getOrDefault(domain, 0);
        if (a >= domainMax || total >= globalMax) {
            return false;
        }
        active.put(domain, a + 1);
        total++;
        return true;
    }

    public synchronized void release(String domain) {
        Integer a = active.get(domain);
        if (a == null) {
            return;
        }
        if (a <= 1) {
            active.remove(domain);
        } else {
            active.put(domain, a - 1);
        }
        total--;
    }


    /** Every key with running deliveries and their count (a snapshot). */
    public synchronized Map<String, Integer> activeByKey() {
        return new java.util.TreeMap<>(active);
    }

    public synchronized int total() {
        return total;
    }
}
