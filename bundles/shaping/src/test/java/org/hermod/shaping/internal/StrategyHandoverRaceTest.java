package org.hermod.shaping.internal;

import static org.junit.Assert.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.Site;
import org.junit.Test;

/**
 * Strategies swapped while delivery threads report outcomes: every feedback ends up in the state of the strategy that
 * serves the path in the end, however the swaps and the calls interleave.
 */
public class StrategyHandoverRaceTest {

    /** Counts the feedback per path in its state (handed over like any strategy's); slow on purpose. */
    static final class CountingStrategy implements ShapingStrategy {
        final Map<EgressPath, AtomicLong> counts = new ConcurrentHashMap<>();

        @Override
        public PathDecision decide(EgressPath path, Site site, Limits configured, Instant now) {
            return PathDecision.of(configured);
        }

        @Override
        public List<ShapingEvent> onFeedback(Feedback f, Limits configured) {
            AtomicLong n = counts.computeIfAbsent(f.path(), p -> new AtomicLong());
            Thread.yield(); // widen the window between looking the state up and changing it
            n.incrementAndGet();
            return List.of();
        }

        @Override
        public List<ShapingEvent> tick(Instant now) {
            return List.of();
        }

        @Override
        public List<PathState> exportState() {
            List<PathState> out = new ArrayList<>();
            counts.forEach((p, n) -> out.add(new PathState(p, 0.5, null, "counting",
                    Map.of("n", Long.toString(n.get()), "domain", "d.test"))));
            return out;
        }

        @Override
        public void importState(List<PathState> state) {
            for (PathState s : state) {
                counts.put(s.path(), new AtomicLong(Long.parseLong(s.extra().getOrDefault("n", "0"))));
            }
        }

        long total() {
            return counts.values().stream().mapToLong(AtomicLong::get).sum();
        }
    }

    @Test
    public void noFeedbackIsLostWhileStrategiesAreSwapped() throws Exception {
        Path dir = Files.createTempDirectory("handover-race");
        Rules rules = RulesParser.parse("hermod-shaping.rules", "limits connections=10");
        ShapingService shaping = new ShapingService(() -> rules, new MutableClock(Instant.parse("2025-03-01T10:00:00Z")),
                new LocalThrottleStore(), TestConfigs.shaping("sources", "a=/, b=/",
                        "eventLog", dir.resolve("events.jsonl").toString()));
        CountingStrategy base = new CountingStrategy();
        CountingStrategy other = new CountingStrategy();
        shaping.addStrategy(base, AdaptiveStrategy.NAME, 0, 1);
        Site site = new Site("mx.d.test", null, List.of("mx.d.test"));
        int threads = 4;
        int perThread = 20_000;
        CountDownLatch finished = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            EgressPath path = new EgressPath(t % 2 == 0 ? "a" : "b", site.key());
            Thread th = new Thread(() -> {
                try {
                    for (int i = 0; i < perThread; i++) {
                        shaping.feedback(new Feedback(path, site, "d.test", Instant.parse("2025-03-01T10:00:00Z"),
                                Feedback.Result.DEFERRED, 421, "4.7.0", "busy", null));
                    }
                } finally {
                    finished.countDown();
                }
            });
            th.start();
        }
        int swaps = 0;
        while (finished.getCount() > 0) { // the higher-ranked 'other' takes over, then goes again
            shaping.addStrategy(other, AdaptiveStrategy.NAME, 10, 2);
            shaping.removeStrategy(other);
            swaps++;
        }
        finished.await();
        shaping.deactivate();
        assertEquals("after " + swaps + " swaps the serving strategy counted every feedback", (long) threads * perThread,
                base.total());
    }
}
