package org.hermod.routing.internal;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

import org.hermod.api.filter.FilterAdmin;
import org.hermod.api.filter.FilterDecision;

/** Counters of one filter (by name, across its versions): calls, decisions by action, errors, timeouts, latency. Lock-free. */
final class FilterStats {

    private final LongAdder calls = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private final Map<FilterDecision.Action, LongAdder> decisions = new EnumMap<>(FilterDecision.Action.class);
    private final LatencyHistogram latency = new LatencyHistogram();

    FilterStats() {
        for (FilterDecision.Action a : FilterDecision.Action.values()) {
            decisions.put(a, new LongAdder());
        }
    }

    void called(long nanos, FilterDecision decision) {
        calls.increment();
        latency.record(nanos);
        decisions.get(decision.action()).increment();
    }

    void failed(long nanos, FilterDecision decision, boolean timeout) {
        (timeout ? timeouts : errors).increment();
        called(nanos, decision);
    }

    FilterAdmin.FilterCounters snapshot() {
        Map<FilterDecision.Action, Long> d = new EnumMap<>(FilterDecision.Action.class);
        decisions.forEach((a, n) -> d.put(a, n.sum()));
        return new FilterAdmin.FilterCounters(calls.sum(), d, errors.sum(), timeouts.sum(), latency.meanMillis(),
                latency.percentileMillis(0.99));
    }
}
