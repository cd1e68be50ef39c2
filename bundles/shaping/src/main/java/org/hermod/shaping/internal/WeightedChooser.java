package org.hermod.shaping.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import org.hermod.api.shaping.Pool;

/**
 * Smooth weighted round-robin (as nginx's upstream balancer) over a pool's eligible members: deterministic, and
 * spreads each source's turns evenly (weights 3:1 give a a b a, a a b a, ...), not in bursts. Members that are not
 * eligible (suspended, over their warmup cap) are skipped and do not accumulate credit meanwhile.
 *
 * <p>Threading: one lock per pool, held for one pass over its members (a pool of one source is never asked: the
 * shaping service answers it without a choice).
 */
final class WeightedChooser {

    private final Map<String, Map<String, Long>> current = new java.util.concurrent.ConcurrentHashMap<>();

    Optional<String> next(Pool pool, Predicate<String> eligible) {
        Map<String, Long> cw = current.get(pool.name());
        if (cw == null) {
            cw = current.computeIfAbsent(pool.name(), k -> new HashMap<>());
        }
        synchronized (cw) {
            List<Pool.Member> members = pool.members();
            String best = null;
            long total = 0;
            long bestWeight = Long.MIN_VALUE;
            for (Pool.Member m : members) {
                if (!eligible.test(m.source())) {
                    continue;
                }
                long w = cw.merge(m.source(), (long) m.weight(), Long::sum);
                total += m.weight();
                if (w > bestWeight) {
                    bestWeight = w;
                    best = m.source();
                }
            }
            if (best == null) {
                return Optional.empty();
            }
            cw.merge(best, -total, Long::sum);
            return Optional.of(best);
        }
    }
}
