package org.hermod.bounce.eval;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.bounce.internal.rules.Condition;
import org.hermod.bounce.internal.rules.Evidence;
import org.hermod.bounce.internal.rules.Rule;
import org.hermod.bounce.internal.rules.RuleSet;

/**
 * Leave-one-source-out scores for hand-written rules. The rules cannot be re-written without looking at a fold, so a
 * fold is held out by <em>ablation</em>: it is scored with only the rules that decide at least one record of another
 * source (or that rest on RFC semantics alone: connection kinds, enhanced status classes, reply codes, and rules that
 * map specific enhanced statuses with no wording, {@link #rfcStatusOnly}). A rule that
 * decides nothing outside the fold could only have come from that fold's samples, so it is dropped. This is a
 * pessimistic estimate: a provider rule written from the provider's documentation is also dropped when only that
 * provider's fold uses it.
 *
 * <p>Folds: {@code bounces/} by MTA family (file name without its number), {@code more-bounces/} by project,
 * reply lines by provider.
 */
public final class CrossValidation {

    /** Levels that rest on RFC 3463/5321 semantics only and are kept in every fold. */
    static final Set<Evidence> GENERAL = EnumSet.of(Evidence.CONNECTION, Evidence.STATUS_CLASS, Evidence.REPLY_CODE);

    private CrossValidation() {
    }

    static String key(Outcome o) {
        return o.set() + "/" + o.fold();
    }

    /** Every record scored with its own fold held out. */
    public static List<Outcome> heldOut(Path corpus, RuleSet full, List<Outcome> seen) throws IOException {
        Map<String, Set<String>> support = new HashMap<>(); // rule id -> folds it decided in
        for (Outcome o : seen) {
            for (String r : o.rules()) {
                support.computeIfAbsent(r, k -> new HashSet<>()).add(key(o));
            }
        }
        Map<String, List<Outcome>> byFold = seen.stream()
                .collect(Collectors.groupingBy(CrossValidation::key, LinkedHashMap::new, Collectors.toList()));
        List<Outcome> out = new ArrayList<>();
        for (Map.Entry<String, List<Outcome>> e : byFold.entrySet()) {
            String fold = e.getKey();
            List<Rule> kept = new ArrayList<>();
            for (Rule r : full.rules()) {
                Set<String> s = support.getOrDefault(r.id(), Set.of());
                if (GENERAL.contains(r.evidence()) || rfcStatusOnly(r) || s.stream().anyMatch(f -> !f.equals(fold))) {
                    kept.add(r);
                }
            }
            BounceClassifier c = ClassifyEval.of(new RuleSet(kept, List.of()));
            Outcome first = e.getValue().get(0);
            String name = first.fold();
            out.addAll(switch (first.set()) {
                case ClassifyEval.BOUNCES -> ClassifyEval.bounceOutcomes(corpus, c, name::equals);
                case ClassifyEval.MORE -> ClassifyEval.moreOutcomes(corpus, c, name::equals);
                default -> ClassifyEval.replyOutcomes(corpus, c, name::equals);
            });
        }
        return out;
    }

    /**
     * A rule that maps RFC 3463 enhanced statuses alone (every positive condition a status; negated conditions only
     * withhold it): like a status class, it cannot have been written from a sample's wording, so no fold drops it.
     */
    static boolean rfcStatusOnly(Rule r) {
        boolean any = false;
        for (Condition c : r.conditions()) {
            if (c instanceof Condition.Not) {
                continue;
            }
            Condition[] opts = c instanceof Condition.AnyOf a ? a.options() : new Condition[] {c};
            for (Condition o : opts) {
                if (!(o instanceof Condition.Status)) {
                    return false;
                }
            }
            any = true;
        }
        return any && r.evidence() == Evidence.SPECIFIC_STATUS;
    }

    /** One line per fold: records, seen and held-out category and temporary/permanent. */
    static void printFolds(PrintStream out, List<Outcome> seen, List<Outcome> held) {
        out.println("== folds (seen = all rules; held out = only rules with support outside the fold)");
        out.printf(Locale.ROOT, "%-48s %5s %15s %15s %15s%n", "fold", "n", "category seen", "held out", "temp/perm ho");
        Map<String, List<Outcome>> s = group(seen);
        Map<String, List<Outcome>> h = group(held);
        for (String k : s.keySet()) {
            ClassifyEval.Score a = ClassifyEval.Score.of(k, s.get(k));
            ClassifyEval.Score b = ClassifyEval.Score.of(k, h.getOrDefault(k, List.of()));
            out.printf(Locale.ROOT, "%-48s %5d %6d = %5.1f%% %6d = %5.1f%% %6d/%d%s%n", k, a.expected(),
                    a.categoryOk(), a.categoryPct(), b.categoryOk(), b.categoryPct(), b.permOk(), b.permTotal(),
                    b.categoryOk() < a.categoryOk() ? "   <- fold-specific rules" : "");
        }
        ClassifyEval.Score all = ClassifyEval.Score.of("all", seen);
        ClassifyEval.Score allHeld = ClassifyEval.Score.of("all held out", held);
        out.printf(Locale.ROOT, "all sets: seen %.1f%% / %.1f%%, held out %.1f%% / %.1f%% (category / temp-perm),"
                + " gap %+.1f%n%n", all.categoryPct(), all.permPct(), allHeld.categoryPct(), allHeld.permPct(),
                allHeld.categoryPct() - all.categoryPct());
    }

    private static Map<String, List<Outcome>> group(List<Outcome> os) {
        return os.stream().collect(Collectors.groupingBy(CrossValidation::key, java.util.TreeMap::new,
                Collectors.toList()));
    }
}
