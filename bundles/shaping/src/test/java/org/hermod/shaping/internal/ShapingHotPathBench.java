package org.hermod.shaping.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Site;

/**
 * What shaping costs delivery per message, measured without JMH (a main, not a test: {@code java -cp ...
 * org.hermod.shaping.internal.ShapingHotPathBench}): the shipped rules file (plus bench/shaping.sh's line for its
 * destination) and, per message, the calls delivery's dispatcher and deliverer make: maxSiteConnections, choose,
 * decide, maxSourceConnections, acquireMessage, acquireConnection (one message in 50 opens a connection), feedback
 * (delivered). Prints ns per message and per call. Numbers are indicative: one thread, a warmed JIT, no contention.
 */
public final class ShapingHotPathBench {

    private ShapingHotPathBench() {
    }

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 3_000_000L;
        Path dir = Files.createTempDirectory("shaping-bench");
        Path rulesFile = dir.resolve("hermod-shaping.rules");
        String shipped = Files.readString(Path.of(args.length > 1 ? args[1] : "../../etc/hermod-shaping.rules"));
        Files.writeString(rulesFile, shipped + "\nlimits domain=bench.test connections=20 messagesPerConnection=100\n");
        RulesFile rules = new RulesFile(rulesFile);
        Instant t0 = Instant.parse("2026-01-05T10:00:00Z");
        ShapingService s = new ShapingService(rules, Clock.fixed(t0, ZoneOffset.UTC), new LocalThrottleStore(),
                TestConfigs.shaping("sources", "default=/", "eventLog", dir.resolve("events.jsonl").toString()));
        s.addStrategy(new AdaptiveStrategy(rules), AdaptiveStrategy.NAME, 0, 1);
        Site bench = new Site("bench.test", null, List.of("bench.test"));
        Site gmail = new Site("gmail-smtp-in.l.google.com", null, List.of("gmail-smtp-in.l.google.com"));
        Site[] sites = {bench, bench, bench, gmail};
        String[] domains = {"bench.test", "bench.test", "bench.test", "gmail.com"};
        long[] nanos = new long[7];
        for (int round = 0; round < 2; round++) { // the first round warms the JIT
            java.util.Arrays.fill(nanos, 0);
            long start = System.nanoTime();
            for (long i = 0; i < n; i++) {
                Instant now = t0.plusNanos(i * 1000);
                int k = (int) (i & 3);
                Site site = sites[k];
                String domain = domains[k];
                long a = System.nanoTime();
                s.maxSiteConnections(site, domain);
                long b = System.nanoTime();
                EgressSource src = s.choose("default", site, domain, now).orElseThrow();
                long c = System.nanoTime();
                EgressPath path = new EgressPath(src.name(), site.key());
                s.decide(path, site, domain, now);
                long d = System.nanoTime();
                s.maxSourceConnections(src.name());
                long e = System.nanoTime();
                Duration w = s.acquireMessage(path, site, domain, now);
                long f = System.nanoTime();
                if (i % 50 == 0) {
                    w = s.acquireConnection(path, site, domain, now);
                }
                long g = System.nanoTime();
                s.feedback(new Feedback(path, site, domain, now, Feedback.Result.DELIVERED, 250, "2.0.0", "ok", null));
                long h = System.nanoTime();
                if (!w.isZero()) {
                    throw new IllegalStateException("the shipped rules have no rates: " + w);
                }
                nanos[0] += b - a;
                nanos[1] += c - b;
                nanos[2] += d - c;
                nanos[3] += e - d;
                nanos[4] += f - e;
                nanos[5] += g - f;
                nanos[6] += h - g;
            }
            long total = System.nanoTime() - start;
            if (round == 1) {
                String[] names = {"maxSiteConnections", "choose", "decide", "maxSourceConnections", "acquireMessage",
                    "acquireConnection (1/50)", "feedback"};
                System.out.printf("%d messages: %.0f ns per message (wall, with timer overhead)%n", n,
                        (double) total / n);
                for (int i = 0; i < names.length; i++) {
                    System.out.printf("  %-26s %8.1f ns%n", names[i], (double) nanos[i] / n);
                }
            }
        }
        s.deactivate();
    }
}
