package org.hermod.bounce.internal;

import static org.junit.Assert.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.eval.ClassifyEval;
import org.hermod.bounce.eval.CrossValidation;
import org.hermod.bounce.eval.Outcome;
import org.junit.Test;

/**
 * The whole corpus classifies exactly as it did when {@code classify-golden.tsv} was written: every record's category,
 * temporary/permanent and status verdicts and deciding rules, seen and held out, and for every failure the classifier
 * was asked about (keyed by a digest of the input) the full classification including the trace's matched text. A
 * speed-up of the rule engine must not move a single line; a deliberate rule change regenerates the file with
 * {@code -Dgolden.write=true} and the diff shows what moved.
 */
public class ClassificationGoldenTest {

    private static final Path GOLDEN = Paths.get("src/test/resources/org/hermod/bounce/internal/classify-golden.tsv");

    @Test
    public void corpusClassifiesAsRecorded() throws Exception {
        Path corpus = Corpus.dir();
        RuleBasedBounceClassifier rules = new RuleBasedBounceClassifier((Path) null);
        Map<String, String> calls = new TreeMap<>();
        BounceClassifier recording = in -> {
            Classification c = rules.classify(in);
            calls.put(digest(in), describe(c));
            return c;
        };
        List<Outcome> seen = ClassifyEval.evaluate(corpus, recording);
        List<Outcome> held = CrossValidation.heldOut(corpus, rules.rules(), seen);
        List<String> lines = new ArrayList<>();
        seen.forEach(o -> lines.add(line("seen", o)));
        held.forEach(o -> lines.add(line("held", o)));
        calls.forEach((k, v) -> lines.add("call\t" + k + "\t" + v));
        String actual = String.join("\n", lines) + "\n";
        if (Boolean.getBoolean("golden.write")) {
            Files.writeString(GOLDEN, actual, StandardCharsets.UTF_8);
        }
        assertEquals(Files.readString(GOLDEN, StandardCharsets.UTF_8), actual);
    }

    private static String line(String kind, Outcome o) {
        return String.join("\t", kind, o.set(), o.fold(), o.id(), String.valueOf(o.got()),
                flags(o.found(), o.catOk(), o.permCounted(), o.permOk(), o.statusCounted(), o.statusOk(), o.crash()),
                String.join(",", new TreeSet<>(o.rules())));
    }

    private static String flags(boolean... bs) {
        StringBuilder sb = new StringBuilder();
        for (boolean b : bs) {
            sb.append(b ? '1' : '0');
        }
        return sb.toString();
    }

    private static String describe(Classification c) {
        Classification.Trace t = c.trace();
        return String.join("\t", c.category(), String.valueOf(c.permanent()), String.valueOf(c.enhancedStatus()),
                t.source().replaceAll(".*/", ""), String.valueOf(t.ruleId()), escape(t.matched()),
                String.valueOf(t.considered().size()));
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    private static String digest(FailureInput in) throws RuntimeException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            String key = in.kind() + "\0" + in.code() + "\0" + in.enhancedStatus() + "\0" + in.text() + "\0"
                    + in.mxHost() + "\0" + in.domain();
            return HexFormat.of().formatHex(md.digest(key.getBytes(StandardCharsets.UTF_8)), 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
