package org.hermod.bounce.eval;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Per-category precision and recall, and the confusions. Several categories are defensible for many records, so:
 * recall of C = records whose primary expected category is C that got an acceptable category; precision of C =
 * answers C that were acceptable for their record. The confusion list counts (expected primary, answer) pairs
 * of the wrong answers only.
 */
final class Confusion {

    private Confusion() {
    }

    static void print(PrintStream out, List<Outcome> os) {
        Map<String, int[]> pr = new TreeMap<>(); // category -> {primary n, primary ok, answered n, answered ok}
        Map<String, Integer> wrong = new TreeMap<>();
        for (Outcome o : os) {
            if (o.primary().equals("(not-a-bounce)")) {
                continue;
            }
            int[] p = pr.computeIfAbsent(o.primary(), k -> new int[4]);
            p[0]++;
            p[1] += o.catOk() ? 1 : 0;
            int[] g = pr.computeIfAbsent(o.got(), k -> new int[4]);
            g[2]++;
            g[3] += o.catOk() ? 1 : 0;
            if (!o.catOk()) {
                wrong.merge(String.format(Locale.ROOT, "%-20s -> %s", o.primary(), o.got()), 1, Integer::sum);
            }
        }
        out.println("== per category, all sets (recall: expected C, answer acceptable; precision: answer C, acceptable)");
        out.printf(Locale.ROOT, "%-22s %8s %8s %8s %8s%n", "category", "expected", "recall", "answered", "precision");
        for (Map.Entry<String, int[]> e : pr.entrySet()) {
            int[] v = e.getValue();
            out.printf(Locale.ROOT, "%-22s %8d %7s %8d %8s%n", e.getKey(), v[0], pct(v[1], v[0]), v[2],
                    pct(v[3], v[2]));
        }
        out.println("== confusions (expected primary -> wrong answer: count)");
        new TreeSet<>(wrong.keySet()).forEach(k -> out.printf(Locale.ROOT, "  %s: %d%n", k, wrong.get(k)));
        out.println();
    }

    private static String pct(int a, int b) {
        return b == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * a / b);
    }
}
