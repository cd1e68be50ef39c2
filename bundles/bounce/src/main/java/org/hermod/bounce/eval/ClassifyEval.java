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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.internal.BounceAnalyzer;
import org.hermod.bounce.internal.RuleBasedBounceClassifier;

/**
 * Scores the classifier on the shared corpus: {@code bounces/manifest.tsv} (asynchronous bounces) and
 * {@code smtp-replies.tsv} (synchronous replies). Usage: {@code ClassifyEval [corpusDir] [-q]}.
 */
public final class ClassifyEval {

    /** Figures for one set. */
    public record Score(String name, int expected, int found, int categoryOk, int permOk, int permTotal,
                        int statusOk, int statusTotal, int crashes, List<String> misses) {

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

        private static double pct(int a, int b) {
            return b == 0 ? 100.0 : 100.0 * a / b;
        }
    }

    private ClassifyEval() {
    }

    public static void main(String[] args) throws IOException {
        boolean quiet = Arrays.asList(args).contains("-q");
        Path corpus = Paths.get(Arrays.stream(args).filter(a -> !a.startsWith("-")).findFirst()
                .orElse("../shared/corpus"));
        BounceClassifier classifier = new RuleBasedBounceClassifier((Path) null);
        Score b = bounces(corpus, classifier);
        Score r = replies(corpus, classifier);
        b.print(System.out, quiet);
        r.print(System.out, quiet);
        boolean ok = b.categoryPct() >= 95 && r.categoryPct() >= 95 && b.permPct() >= 98 && r.permPct() >= 98
                && b.crashes() == 0 && r.crashes() == 0;
        System.out.println(ok ? "TARGETS MET" : "TARGETS MISSED");
        System.exit(ok ? 0 : 1);
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

    public static Score bounces(Path corpus, BounceClassifier classifier) throws IOException {
        Path dir = corpus.resolve("bounces");
        List<Map<String, String>> rows = tsv(dir.resolve("manifest.tsv"));
        Map<String, BounceReport> cache = new HashMap<>();
        int expected = 0, found = 0, catOk = 0, permOk = 0, permTotal = 0, stOk = 0, stTotal = 0, crashes = 0;
        List<String> misses = new ArrayList<>();
        for (Map<String, String> row : rows) {
            String cat = row.get("pmta_category");
            if (cat == null || cat.isEmpty()) {
                continue; // no published expectation
            }
            expected++;
            String path = row.get("path");
            BounceReport rep = cache.get(path);
            if (rep == null) {
                try {
                    rep = BounceAnalyzer.analyse(Files.readAllBytes(dir.resolve(path)), null, classifier, null);
                } catch (Throwable t) {
                    rep = new BounceReport(BounceReport.Kind.UNKNOWN, null, null, List.of(), "crash: " + t);
                }
                if (rep.error() != null && rep.error().startsWith("crash")) {
                    crashes++;
                }
                cache.put(path, rep);
            }
            int idx = Integer.parseInt(row.get("recipient_index")) - 1;
            List<String> acceptable = Arrays.asList(row.get("pmta_acceptable").split(";"));
            if (cat.equals("(not-a-bounce)")) {
                boolean ok = !rep.isBounce() && rep.kind() != BounceReport.Kind.UNKNOWN;
                found += ok ? 1 : 0;
                catOk += ok ? 1 : 0;
                if (!ok) {
                    misses.add(path + "#" + (idx + 1) + " expected (not-a-bounce), got " + rep.kind() + " "
                            + summary(rep, idx));
                }
                continue;
            }
            BouncedRecipient r = rep.isBounce() && idx < rep.recipients().size() ? rep.recipients().get(idx) : null;
            if (r == null && rep.isBounce() && !rep.recipients().isEmpty()) {
                r = rep.recipients().get(rep.recipients().size() - 1);
            } else if (r != null) {
                found++;
            }
            String tp = row.get("temporary_or_permanent");
            String expStatus = row.get("expected_status");
            boolean pseudo = "yes".equals(row.get("status_is_sisimai_pseudo"));
            boolean countStatus = !pseudo && expStatus != null && !expStatus.isEmpty();
            if (countStatus) {
                stTotal++;
            }
            if (tp.equals("temporary") || tp.equals("permanent")) {
                permTotal++;
            }
            if (r == null) {
                misses.add(path + "#" + (idx + 1) + " expected " + cat + ", got " + rep.kind() + " (no recipient) "
                        + (rep.error() == null ? "" : rep.error()));
                continue;
            }
            Classification c = r.classification();
            boolean okCat = acceptable.contains(c.category());
            boolean okPerm = tp.equals(c.permanent() ? "permanent" : "temporary");
            boolean okSt = countStatus && expStatus.equals(r.status());
            catOk += okCat ? 1 : 0;
            permOk += (okPerm && (tp.equals("temporary") || tp.equals("permanent"))) ? 1 : 0;
            stOk += okSt ? 1 : 0;
            if (!okCat || !okPerm || countStatus && !okSt) {
                misses.add(path + "#" + (idx + 1) + (okCat ? "" : " CAT expected " + acceptable + " got "
                        + c.category()) + (okPerm ? "" : " PERM expected " + tp) + (!countStatus || okSt ? ""
                        : " STATUS expected " + expStatus + " got " + r.status()) + " rule=" + c.trace().ruleId()
                        + " rcpt=" + r.recipient() + " code=" + r.replyCode() + " text=" + oneLine(r.diagnostic()));
            }
        }
        return new Score("bounces (manifest.tsv)", expected, found, catOk, permOk, permTotal, stOk, stTotal,
                crashes, misses);
    }

    public static Score replies(Path corpus, BounceClassifier classifier) throws IOException {
        List<Map<String, String>> rows = tsv(corpus.resolve("smtp-replies.tsv"));
        int expected = 0, catOk = 0, permOk = 0, stOk = 0, stTotal = 0, crashes = 0;
        List<String> misses = new ArrayList<>();
        for (Map<String, String> row : rows) {
            expected++;
            int code = 0;
            try {
                code = Integer.parseInt(row.get("reply_code").trim());
            } catch (NumberFormatException e) {
                // leave 0
            }
            String st = row.get("enhanced_code");
            st = st == null || st.isBlank() ? null : st.trim();
            Classification c;
            try {
                c = classifier.classify(FailureInput.reply(code, st, row.get("text"), null, row.get("provider")));
            } catch (Throwable t) {
                crashes++;
                misses.add("CRASH " + t + " on " + row.get("text"));
                continue;
            }
            List<String> acc = new ArrayList<>();
            acc.add(row.get("expected_category"));
            acc.addAll(Arrays.asList(row.getOrDefault("also_acceptable", "").split(";")));
            boolean okCat = acc.contains(c.category());
            String tp = row.get("temporary_or_permanent");
            boolean okPerm = tp.equals(c.permanent() ? "permanent" : "temporary");
            if (st != null) {
                stTotal++;
                stOk += st.equals(c.enhancedStatus()) ? 1 : 0;
            }
            catOk += okCat ? 1 : 0;
            permOk += okPerm ? 1 : 0;
            if (!okCat || !okPerm) {
                misses.add(code + " " + st + (okCat ? "" : " CAT expected " + acc + " got " + c.category())
                        + (okPerm ? "" : " PERM expected " + tp) + " rule=" + c.trace().ruleId() + " text="
                        + oneLine(row.get("text")));
            }
        }
        return new Score("smtp replies (smtp-replies.tsv)", expected, expected, catOk, permOk, expected, stOk,
                stTotal, crashes, misses);
    }

    private static String summary(BounceReport rep, int idx) {
        if (idx < rep.recipients().size()) {
            BouncedRecipient r = rep.recipients().get(idx);
            return r.recipient() + " " + r.classification().category();
        }
        return "";
    }

    private static String oneLine(String s) {
        String t = s == null ? "" : s.replaceAll("\\s+", " ").strip();
        return t.length() > 220 ? t.substring(0, 220) + "..." : t;
    }
}
