package org.hermod.bounce.internal.rules;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.eval.ClassifyEval;
import org.junit.Test;

/** The literal filter in front of each rule's regular expression never hides a match. */
public class LiteralsTest {

    @Test
    public void namesOneLiteralPerAlternative() {
        assertEquals(List.of("blocked using", "spamhaus"), Literals.required("blocked using|spamhaus"));
        assertEquals(List.of("t exist"), Literals.required("doesn.?t exist"));
        assertEquals(List.of("over"), Literals.required("over ?quo?"));
        assertEquals(List.of("5.5."), Literals.required("5\\.5\\.[0-9]"));
        assertEquals(List.of("[ts"), Literals.required("\\[ts[s]?[0-9]+\\]"));
        assertEquals(List.of("sorbs"), Literals.required("\\bsorbs\\b"));
        assertEquals(List.of("address rejected"), Literals.required("address rejected(?!:\\s*\\S)"));
        // a group that must match gives its own alternatives when they are longer than the plain run
        assertEquals(List.of("mailbox", "inbox"), Literals.required("(mailbox|inbox)[^.]{0,20}(full|pleine)"));
        assertEquals(List.of("fu"), Literals.required("(mailbox|inbox)?fu(ll|pleine)"));
    }

    @Test
    public void givesUpWhereItCannotBeSure() {
        assertNull(Literals.required("(?i)abc"));
        assertNull(Literals.required("abc|"));
        assertNull(Literals.required("a*|bcd"));
        assertNull(Literals.required("\\x41bc"));
        assertNull(Literals.required("\\Qa|b\\E"));
        assertNull(Literals.required("(?:abc)?"));
        assertNull(Literals.required("(?=abc)"));
    }

    @Test
    public void foldsWhatUnicodeCaseInsensitiveMatchingTakesForAscii() {
        // Kelvin sign, long s, dotted capital I and dotless i match k, s and i in a CASE_INSENSITIVE|UNICODE_CASE regex
        for (String text : List.of("\u212Aelvin SPAMHAU\u017F", "L\u0130STED ON", "l\u0131sted on")) {
            for (String re : List.of("spamhaus", "kelvin", "listed on")) {
                Condition.Text t = Condition.Text.parse(re);
                boolean found = t.pattern().matcher(text).find();
                assertEquals(re + " in " + text, found, t.match(reply(text)) != null);
            }
        }
        assertNotNull(Condition.Text.parse("kelvin").match(reply("\u212AELVIN")));
    }

    /** Every shipped expression, on every reply of the corpus (as is, upper-cased and cut up): filter or not, same. */
    @Test
    public void shippedRulesMatchExactlyAsWithoutTheFilter() throws Exception {
        Path corpus = ClassifyEval.defaultCorpus();
        assertNotNull("corpus missing", corpus);
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(corpus.resolve("smtp-replies.tsv"), StandardCharsets.UTF_8)) {
            String[] f = line.split("\t");
            if (f.length > 2) {
                texts.add(f[2]);
                texts.add(f[2].toUpperCase(Locale.ROOT));
            }
        }
        Random rnd = new Random(5);
        int n = texts.size();
        for (int i = 0; i < n; i++) {
            String s = texts.get(i);
            int a = rnd.nextInt(s.length() + 1);
            String other = texts.get(rnd.nextInt(n));
            texts.add(s.substring(a) + " " + other.substring(0, Math.min(other.length(), a / 2)));
        }
        int checked = 0;
        int matched = 0;
        for (Rule r : RuleLoader.load(null).rules()) {
            for (Condition c : r.conditions()) {
                Condition inner = c instanceof Condition.Not not ? not.inner() : c;
                if (!(inner instanceof Condition.Text t)) {
                    continue;
                }
                assertNotNull("no literals for rule " + r.id(), t.literals());
                for (String text : texts) {
                    boolean found = t.pattern().matcher(text).find();
                    assertEquals(r.id() + " on: " + text, found, t.match(reply(text)) != null);
                    checked++;
                    matched += found ? 1 : 0;
                }
            }
        }
        assertEquals(true, matched > 500 && checked > 20 * matched);
    }

    private static FailureInput reply(String text) {
        return FailureInput.reply(550, null, text, null, null);
    }
}
