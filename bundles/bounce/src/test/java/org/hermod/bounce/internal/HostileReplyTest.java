package org.hermod.bounce.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;

import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.junit.Test;

/**
 * A remote server writes the reply text: a 64 KB reply built to make the rules' expressions work hard classifies in
 * bounded time, and like its first 4 KB. The bound (2 s) guards against a hang on a loaded machine, it is not a speed
 * test (such a reply takes well under a millisecond).
 */
public class HostileReplyTest {

    private static final long BOUND_NANOS = 2_000_000_000L;

    private final RuleBasedBounceClassifier classifier = new RuleBasedBounceClassifier((Path) null);

    @Test
    public void sixtyFourKilobyteRepliesClassifyInBoundedTime() {
        assertBounded("a", "a".repeat(65_536), "other");
        // the words the expressions look for, over and over, so that they all run and never match nearby
        assertBounded("rule words", fill("mailbox account user recipient address sender domain host helo "
                + "does not exist over quota reverse polic rate "), null);
        assertBounded("mailbox padding", fill("mailbox " + "x".repeat(30) + ". "), null);
        assertBounded("account punctuation", fill("account " + "y".repeat(39) + " is; "), null);
        assertBounded("dotted host", fill("x.") + " does not exist", null);
        assertBounded("nested parentheses", fill("(((("), null);
    }

    @Test
    public void textBeyondTheLimitIsNotRead() {
        String head = "5.2.2 mailbox full";
        Classification shortOne = classify(head);
        String junk = " " + "z".repeat(org.hermod.bounce.internal.rules.RuleSet.MAX_TEXT);
        Classification longOne = classify(head + junk + " user unknown 5.1.1");
        assertEquals(shortOne.category(), longOne.category());
        assertEquals(shortOne.trace().ruleId(), longOne.trace().ruleId());
    }

    private void assertBounded(String what, String text, String category) {
        long t0 = System.nanoTime();
        Classification c = classify(text);
        long took = System.nanoTime() - t0;
        assertTrue(what + " took " + took / 1_000_000 + " ms", took < BOUND_NANOS);
        if (category != null) {
            assertEquals(category, c.category());
        }
        assertEquals(what, classify(text.substring(0, org.hermod.bounce.internal.rules.RuleSet.MAX_TEXT)).category(),
                c.category());
    }

    private Classification classify(String text) {
        return classifier.classify(FailureInput.reply(550, null, text, "mx.example.net", "example.net"));
    }

    private static String fill(String unit) {
        return unit.repeat(65_536 / unit.length() + 1).substring(0, 65_536);
    }
}
