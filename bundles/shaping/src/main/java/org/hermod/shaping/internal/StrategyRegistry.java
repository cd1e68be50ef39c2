package org.hermod.shaping.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Collections;

import org.hermod.api.shaping.ShapingStrategy;

/**
 * The strategy services present, by {@link ShapingStrategy#NAME}; for each name the one with the highest
 * {@code service.ranking} (then the lowest service id) serves. A name without a service falls back to
 * {@code adaptive}, and without that to a built-in fixed strategy (configured limits), so shaping never stops.
 *
 * <p>Threading: changes under a lock; lookups read a volatile immutable snapshot (no lock on the hot path).
 */
final class StrategyRegistry {

    /** A bound strategy service. */
    record Bound(ShapingStrategy strategy, String name, int ranking, long serviceId) {
    }

    /** A strategy as looked up: its name, whether it is the one assigned, and the instance. */
    record Effective(String name, boolean asAssigned, ShapingStrategy strategy) {
    }

    static final String BUILT_IN = "built-in fixed";

    private final ShapingStrategy builtIn = new FixedStrategy();
    private final List<Bound> bound = new ArrayList<>();
    private volatile Map<String, ShapingStrategy> top = Map.of();
    /** Moves on after every change of {@link #top} (the shaping service rebuilds its cached views then). */
    private volatile long version;

    synchronized void add(Bound b) {
        bound.add(b);
        publish();
    }

    /** @return whether it was bound */
    synchronized boolean remove(ShapingStrategy s) {
        boolean removed = bound.removeIf(b -> b.strategy() == s);
        publish();
        return removed;
    }

    private void publish() {
        List<Bound> sorted = new ArrayList<>(bound);
        sorted.sort(Comparator.comparingInt(Bound::ranking).reversed().thenComparingLong(Bound::serviceId));
        Map<String, ShapingStrategy> m = new HashMap<>();
        for (Bound b : sorted) {
            m.putIfAbsent(b.name(), b.strategy());
        }
        top = Map.copyOf(m);
        version++; // under the registry's lock; read without it
    }

    long version() {
        return version;
    }

    /** The strategy serving {@code name}, with the fallbacks. */
    Effective effective(String name) {
        Map<String, ShapingStrategy> t = top;
        ShapingStrategy s = t.get(name);
        if (s != null) {
            return new Effective(name, true, s);
        }
        s = t.get(AdaptiveStrategy.NAME);
        if (s != null) {
            return new Effective(AdaptiveStrategy.NAME, false, s);
        }
        return new Effective(BUILT_IN, false, builtIn);
    }

    boolean present(String name) {
        return top.containsKey(name);
    }

    /** Every strategy instance that may hold state: all bound ones and the built-in one, each once. */
    synchronized List<ShapingStrategy> all() {
        Set<ShapingStrategy> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<ShapingStrategy> out = new ArrayList<>();
        for (Bound b : bound) {
            if (seen.add(b.strategy())) {
                out.add(b.strategy());
            }
        }
        if (seen.add(builtIn)) {
            out.add(builtIn);
        }
        return out;
    }

    /** The names present, for the console. */
    Set<String> names() {
        return top.keySet();
    }
}
