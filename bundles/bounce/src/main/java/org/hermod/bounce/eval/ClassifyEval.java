package org.hermod.bounce.eval;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.internal.BounceAnalyzer;
import org.hermod.bounce.internal.RuleBasedBounceClassifier;
import org.hermod.bounce.internal.rules.RuleSet;

/**
 * Scores the classifier on the corpus: {@code bounces/manifest.tsv} (asynchronous bounces, the set the rules were
 * developed on), {@code more-bounces/<project>/manifest.tsv} (other projects' fixtures) and {@code smtp-replies.tsv}
 * (synchronous replies); per source (fold), held out ({@link CrossValidation}), and per category (precision and
 * recall). Usage: {@code ClassifyEval [corpusDir] [-q]}; without a directory, the corpus in the source tree
 * ({@code bundles/bounce/src/test/corpus}); {@code --held-misses} also lists the records that are wrong only with their
 * fold held out.
 */
public final class ClassifyEval {

    /** Where the corpus lives in the source tree, relative to the repository root. */
    public static final String IN_REPO = "bundles/bounce/src/test/corpus";

    public static final String BOUNCES = "bounces";
    public static final String MORE = "more-bounces";
    public static final String REPLIES = "smtp-replies";

    /** Figures for one set (or one fold of it). */
    public record Score(String name, int expected, int found, int categoryOk, int permOk, int permTotal,
                        int statusOk, int statusTotal, int crashes, List<String> misses) {

        public static Score of(String name, List<Outcome> os) {
            int found = 0, cat = 0, perm = 0, permTotal = 0, st = 0, stTotal = 0, crashes = 0;
            Set<String> crashed = new HashSet<>();
            List<String> misses = new ArrayList<>();
            for (Outcome o : os) {
                found += o.found() ? 1 : 0;
                cat += o.catOk() ? 1 : 0;
                permTotal += o.permCounted() ? 1 : 0;
                perm += o.permCounted() && o.permOk() ? 1 : 0;
                stTotal += o.statusCounted() ? 1 : 0;
                st += o.statusCounted() && o.statusOk() ? 1 : 0;
                if (o.crash() && crashed.add(o.fold() + "/" + o.id().replaceAll("#[0-9]+$", ""))) {
                    crashes++;
                }
                if (o.miss() != null) {
                    misses.add(o.miss());
                }
            }
            return new Score(name, os.size(), found, cat, perm, permTotal, st, stTotal, crashes, misses);
        }

        public double categoryPct() {
            return pct(categoryOk, expected);
        }

        public double permPct() {
            return pct(permOk, permTotal);
        }

        public double statusPct() {
            return pct(statusOk, statusTotal);
        }

        void print(PrintStream out, boolean quiet) {
            out.printf(Locale.ROOT, "== %s%n", name);
            out.printf(Locale.ROOT, "records found     %d / %d expected%n", found, expected);
            out.printf(Locale.ROOT, "category          %d / %d = %.1f%% acceptable%n", categoryOk, expected,
                    categoryPct());
            out.printf(Locale.ROOT, "temporary/perm    %d / %d = %.1f%%%n", permOk, permTotal, permPct());
            out.printf(Locale.ROOT, "enhanced status   %d / %d = %.1f%%%n", statusOk, statusTotal, statusPct());
            out.printf(Locale.ROOT, "crashes           %d%n", crashes);
            if (!quiet) {
                out.printf(Locale.ROOT, "misclassified (%d):%n", misses.size());
                misses.forEach(m -> out.println("  " + m));
            }
        }

        static double pct(int a, int b) {
            return b == 0 ? 100.0 : 100.0 * a / b;
        }
    }

    private ClassifyEval() {
    }

    public static void main(String[] args) throws IOException {
        boolean quiet = Arrays.asList(args).contains("-q");
        boolean heldMisses = Arrays.asList(args).contains("--held-misses");
        Path corpus = Arrays.stream(args).filter(a -> !a.startsWith("-")).findFirst().map(Paths::get)
                .orElseGet(ClassifyEval::defaultCorpus);
        if (corpus == null || !Files.isRegularFile(corpus.resolve("bounces/manifest.tsv"))) {
            System.err.println("classify-eval: no corpus at " + corpus + " (expected " + IN_REPO + ")");
            System.exit(2);
        }
        RuleBasedBounceClassifier classifier = new RuleBasedBounceClassifier((Path) null);
        PrintStream out = System.out;
        out.println("corpus " + corpus.toAbsolutePath().normalize());
        List<Outcome> seen = evaluate(corpus, classifier);
        List<Outcome> held = CrossValidation.heldOut(corpus, classifier.rules(), seen);
        boolean ok = true;
        for (String set : List.of(BOUNCES, MORE, REPLIES)) {
            List<Outcome> s = only(seen, set);
            List<Outcome> h = only(held, set);
            Score score = Score.of(title(set), s);
            score.print(out, quiet);
            Score hs = Score.of(title(set) + " held out", h);
            out.printf(Locale.ROOT, "held out          category %.1f%% (gap %+.1f), temporary/perm %.1f%% (gap %+.1f)%n",
                    hs.categoryPct(), hs.categoryPct() - score.categoryPct(), hs.permPct(),
                    hs.permPct() - score.permPct());
            if (heldMisses) { // records right with every rule and wrong with their fold held out
                Set<String> seenMisses = new HashSet<>(score.misses());
                for (String m : hs.misses()) {
                    if (!seenMisses.contains(m)) {
                        out.println("  held out only: " + m);
                    }
                }
            }
            out.println();
            ok &= hs.categoryPct() >= 95 && hs.permPct() >= 98 && score.crashes() == 0;
        }
        CrossValidation.printFolds(out, seen, held);
        Confusion.print(out, seen);
        out.println("targets: held-out category >= 95% and temporary/perm >= 98% on every set, 0 crashes");
        out.println(ok ? "TARGETS MET" : "TARGETS MISSED");
        System.exit(ok ? 0 : 1);
    }

    static String title(String set) {
        return switch (set) {
            case BOUNCES -> "bounces (manifest.tsv)";
            case MORE -> "more-bounces (*/manifest.tsv)";
            default -> "smtp replies (smtp-replies.tsv)";
        };
    }

    static List<Outcome> only(List<Outcome> os, String set) {
        return os.stream().filter(o -> o.set().equals(set)).collect(Collectors.toList());
    }

    /** The corpus in the source tree, found from the working directory upwards; null if there is none. */
    public static Path defaultCorpus() {
        Path d = Paths.get("").toAbsolutePath();
        for (; d != null; d = d.getParent()) {
            for (Path c : List.of(d.resolve(IN_REPO), d.resolve("src/test/corpus"))) {
                if (Files.isRegularFile(c.resolve("bounces/manifest.tsv"))) {
                    return c;
                }
            }
        }
        return null;
    }

    /** Every record of the three sets, scored with one classifier. */
    public static List<Outcome> evaluate(Path corpus, BounceClassifier classifier) throws IOException {
        List<Outcome> all = new ArrayList<>();
        all.addAll(bounceOutcomes(corpus, classifier, f -> true));
        all.addAll(moreOutcomes(corpus, classifier, f -> true));
        all.addAll(replyOutcomes(corpus, classifier, f -> true));
        return all;
    }

    public static Score bounces(Path corpus, BounceClassifier classifier) throws IOException {
        return Score.of(title(BOUNCES), bounceOutcomes(corpus, classifier, f -> true));
    }

    public static Score moreBounces(Path corpus, BounceClassifier classifier) throws IOException {
        return Score.of(title(MORE), moreOutcomes(corpus, classifier, f -> true));
    }

    public static Score replies(Path corpus, BounceClassifier classifier) throws IOException {
        return Score.of(title(REPLIES), replyOutcomes(corpus, classifier, f -> true));
    }

    /** {@code bounces/}: one fold per MTA family, the file name without its number ({@code lhost-postfix}). */
    static List<Outcome> bounceOutcomes(Path corpus, BounceClassifier c, Predicate<String> folds) throws IOException {
        return messageOutcomes(BOUNCES, corpus.resolve("bounces"), path -> {
            String f = Paths.get(path).getFileName().toString();
            return f.replaceAll("(-[0-9]+)?\\.[a-z]+$", "");
        }, c, folds);
    }

    /** {@code more-bounces/}: one fold per project. */
    static List<Outcome> moreOutcomes(Path corpus, BounceClassifier c, Predicate<String> folds) throws IOException {
        Path more = corpus.resolve("more-bounces");
        List<Outcome> out = new ArrayList<>();
        if (!Files.isDirectory(more)) {
            return out;
        }
        List<Path> projects;
        try (Stream<Path> s = Files.list(more)) {
            projects = s.filter(p -> Files.isRegularFile(p.resolve("manifest.tsv"))).sorted().toList();
        }
        for (Path p : projects) {
            String name = p.getFileName().toString();
            if (folds.test(name)) {
                out.addAll(messageOutcomes(MORE, p, path -> name, c, folds));
            }
        }
        return out;
    }

    static List<Outcome> messageOutcomes(String set, Path dir, java.util.function.Function<String, String> foldOf,
                                         BounceClassifier classifier, Predicate<String> folds) throws IOException {
        List<Map<String, String>> rows = tsv(dir.resolve("manifest.tsv"));
        Map<String, BounceReport> cache = new HashMap<>();
        List<Outcome> out = new ArrayList<>();
        for (Map<String, String> row : rows) {
            String cat = row.get("pmta_category");
            if (cat == null || cat.isEmpty()) {
                continue; // no published expectation
            }
            String path = row.get("path");
            String fold = foldOf.apply(path);
            if (!folds.test(fold)) {
                continue;
            }
            BounceReport rep = cache.get(path);
            if (rep == null) {
                try {
                    rep = BounceAnalyzer.analyse(Files.readAllBytes(dir.resolve(path)), null, classifier, null);
                } catch (Throwable t) {
                    rep = new BounceReport(BounceReport.Kind.UNKNOWN, null, null, List.of(), "crash: " + t);
                }
                cache.put(path, rep);
            }
            boolean crash = rep.error() != null && rep.error().startsWith("crash");
            Set<String> rules = rep.recipients().stream().map(r -> r.classification().trace().ruleId())
                    .filter(java.util.Objects::nonNull).collect(Collectors.toSet());
            int idx = Integer.parseInt(row.get("recipient_index")) - 1;
            String id = path + "#" + (idx + 1);
            List<String> acceptable = Arrays.asList(row.get("pmta_acceptable").split(";"));
            if (cat.equals("(not-a-bounce)")) {
                boolean ok = !rep.isBounce() && rep.kind() != BounceReport.Kind.UNKNOWN;
                out.add(new Outcome(set, fold, id, cat, acceptable, ok ? cat : rep.kind().toString(), ok, ok, false,
                        false, false, false, crash, ok ? null : id + " expected (not-a-bounce), got " + rep.kind()
                        + " " + summary(rep, idx), rules));
                continue;
            }
            BouncedRecipient r = rep.isBounce() && idx < rep.recipients().size() ? rep.recipients().get(idx) : null;
            boolean found = r != null;
            if (r == null && rep.isBounce() && !rep.recipients().isEmpty()) {
                r = rep.recipients().get(rep.recipients().size() - 1);
            }
            String tp = row.get("temporary_or_permanent");
            String expStatus = row.get("expected_status");
            boolean pseudo = "yes".equals(row.get("status_is_sisimai_pseudo"));
            boolean countStatus = !pseudo && expStatus != null && !expStatus.isEmpty();
            boolean countPerm = tp.equals("temporary") || tp.equals("permanent");
            if (r == null) {
                out.add(new Outcome(set, fold, id, cat, acceptable, "(none)", false, false, countPerm, false,
                        countStatus, false, crash, id + " expected " + cat + ", got " + rep.kind()
                        + " (no recipient) " + (rep.error() == null ? "" : rep.error()), rules));
                continue;
            }
            Classification c = r.classification();
            boolean okCat = acceptable.contains(c.category());
            boolean okPerm = tp.equals(c.permanent() ? "permanent" : "temporary");
            boolean okSt = countStatus && expStatus.equals(r.status());
            String miss = null;
            if (!okCat || countPerm && !okPerm || countStatus && !okSt) {
                miss = id + (okCat ? "" : " CAT expected " + acceptable + " got " + c.category())
                        + (okPerm || !countPerm ? "" : " PERM expected " + tp) + (!countStatus || okSt ? ""
                        : " STATUS expected " + expStatus + " got " + r.status()) + " rule=" + c.trace().ruleId()
                        + " rcpt=" + r.recipient() + " code=" + r.replyCode() + " text=" + oneLine(r.diagnostic());
            }
            out.add(new Outcome(set, fold, id, cat, acceptable, c.category(), found, okCat, countPerm, okPerm,
                    countStatus, okSt, crash, miss, rules));
        }
        return out;
    }

    /** {@code smtp-replies.tsv}: one fold per provider. */
    static List<Outcome> replyOutcomes(Path corpus, BounceClassifier classifier, Predicate<String> folds)
            throws IOException {
        List<Map<String, String>> rows = tsv(corpus.resolve("smtp-replies.tsv"));
        List<Outcome> out = new ArrayList<>();
        for (Map<String, String> row : rows) {
            String fold = row.getOrDefault("provider", "");
            if (!folds.test(fold)) {
                continue;
            }
            int code = 0;
            try {
                code = Integer.parseInt(row.get("reply_code").trim());
            } catch (NumberFormatException e) {
                // leave 0
            }
            String st = row.get("enhanced_code");
            st = st == null || st.isBlank() ? null : st.trim();
            List<String> acc = new ArrayList<>();
            acc.add(row.get("expected_category"));
            acc.addAll(Arrays.asList(row.getOrDefault("also_acceptable", "").split(";")));
            acc.removeIf(String::isEmpty);
            String id = code + " " + st + " " + oneLine(row.get("text"));
            Classification c;
            try {
                c = classifier.classify(FailureInput.reply(code, st, row.get("text"), null, row.get("provider")));
            } catch (Throwable t) {
                out.add(new Outcome(REPLIES, fold, id, row.get("expected_category"), acc, "(crash)", true, false,
                        true, false, st != null, false, true, "CRASH " + t + " on " + row.get("text"), Set.of()));
                continue;
            }
            boolean okCat = acc.contains(c.category());
            String tp = row.get("temporary_or_permanent");
            boolean okPerm = tp.equals(c.permanent() ? "permanent" : "temporary");
            boolean okSt = st != null && st.equals(c.enhancedStatus());
            String miss = okCat && okPerm ? null : code + " " + st + (okCat ? "" : " CAT expected " + acc + " got "
                    + c.category()) + (okPerm ? "" : " PERM expected " + tp) + " rule=" + c.trace().ruleId()
                    + " [" + fold + "] text=" + oneLine(row.get("text"));
            out.add(new Outcome(REPLIES, fold, id, row.get("expected_category"), acc, c.category(), true, okCat,
                    true, okPerm, st != null, okSt, false, miss,
                    c.trace().ruleId() == null ? Set.of() : Set.of(c.trace().ruleId())));
        }
        return out;
    }

    /** The classifier a rule set makes on its own (no operator file, no reloading). */
    static BounceClassifier of(RuleSet rules) {
        return rules::classify;
    }

    static List<Map<String, String>> tsv(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Map<String, String>> rows = new ArrayList<>();
        if (lines.isEmpty()) {
            return rows;
        }
        String[] head = lines.get(0).split("\t", -1);
        for (String l : lines.subList(1, lines.size())) {
            if (l.isBlank()) {
                continue;
            }
            String[] c = l.split("\t", -1);
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < head.length; i++) {
                row.put(head[i], i < c.length ? unquote(c[i]) : "");
            }
            rows.add(row);
        }
        return rows;
    }

    private static String unquote(String s) {
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
            return s.substring(1, s.length() - 1).replace("\"\"", "\"");
        }
        return s;
    }

    private static String summary(BounceReport rep, int idx) {
        if (idx < rep.recipients().size()) {
            BouncedRecipient r = rep.recipients().get(idx);
            return r.recipient() + " " + r.classification().category();
        }
        return "";
    }

    static String oneLine(String s) {
        String t = s == null ? "" : s.replaceAll("\\s+", " ").strip();
        return t.length() > 220 ? t.substring(0, 220) + "..." : t;
    }
}
