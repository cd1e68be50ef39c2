package org.hermod.api.bounce;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * What every {@link BounceClassifier} must do, whatever its rules: answer every input (never throw, never return
 * null), answer with a known category and a trace, never call a temporary failure permanent (a wrong hard bounce
 * suppresses a real customer), and give the same answer from many threads at once. Extend it and implement
 * {@link #classifier()}.
 */
public abstract class BounceClassifierContract {

    /** The classifier under test. */
    protected abstract BounceClassifier classifier() throws Exception;

    static Set<String> knownCategories() throws IllegalAccessException {
        Set<String> out = new HashSet<>();
        for (Field f : BounceCategory.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                out.add((String) f.get(null));
            }
        }
        return out;
    }

    static List<FailureInput> hostileInputs() {
        List<FailureInput> out = new ArrayList<>();
        for (FailureInput.Kind k : FailureInput.Kind.values()) {
            out.add(new FailureInput(k, 0, null, null, null, null));
            out.add(new FailureInput(k, 0, "", "", "", ""));
        }
        out.add(FailureInput.reply(999, "9.9.9", "nonsense", "mx.test", "dest.test"));
        out.add(FailureInput.reply(-1, "5.", "\u0000\r\n\t\u00ff", null, null));
        out.add(FailureInput.reply(550, "5.1.1.1.1", "x".repeat(1 << 20), "mx.test", "dest.test"));
        out.add(FailureInput.reply(550, null, "(((((((((((((((((((((((((((((((((((((((((((a*)*)*)*)*)*)*", null, null));
        out.add(FailureInput.reply(421, "4.7.0", "\u202e\u0301 unicode\uD83D\uDCA3 ".repeat(1000), null, null));
        return out;
    }

    @Test
    public void everyInputGetsAKnownCategoryAndATrace() throws Exception {
        BounceClassifier c = classifier();
        Set<String> known = knownCategories();
        for (FailureInput in : hostileInputs()) {
            Classification r = c.classify(in);
            assertNotNull("no verdict for " + in.kind() + " " + in.code(), r);
            assertTrue("unknown category " + r.category(), known.contains(r.category()));
            assertNotNull(r.trace());
        }
    }

    @Test
    public void aTemporaryReplyIsNeverCalledPermanent() throws Exception {
        BounceClassifier c = classifier();
        String[] texts = {"try again later", "mailbox full", "user unknown", "too many connections from your IP",
            "blocked by spamhaus", "rate limited", "greylisted, please retry", "no such user here", ""};
        for (String t : texts) {
            for (String status : new String[] {null, "4.0.0", "4.2.2", "4.7.1", "4.4.7"}) {
                Classification r = c.classify(FailureInput.reply(451, status, t, "mx.test", "dest.test"));
                assertFalse("451 " + status + " " + t + " was called permanent", r.permanent());
            }
        }
        for (FailureInput.Kind k : List.of(FailureInput.Kind.TIMEOUT, FailureInput.Kind.CONNECTION_REFUSED)) {
            assertFalse(k + " is temporary", c.classify(new FailureInput(k, 0, null, "timed out", "mx.test",
                    "dest.test")).permanent());
        }
    }

    @Test
    public void anUnknownUserIsAPermanentBadMailbox() throws Exception {
        Classification r = classifier().classify(FailureInput.reply(550, "5.1.1",
                "5.1.1 <nobody@dest.test>: Recipient address rejected: User unknown in virtual mailbox table",
                "mx.test", "dest.test"));
        assertTrue(r.permanent());
        assertEquals(BounceCategory.BAD_MAILBOX, r.category());
    }

    @Test
    public void manyThreadsGetTheSameAnswers() throws Exception {
        BounceClassifier c = classifier();
        List<FailureInput> inputs = new ArrayList<>(hostileInputs());
        inputs.add(FailureInput.reply(550, "5.1.1", "user unknown", "mx.test", "dest.test"));
        inputs.add(FailureInput.reply(421, "4.7.0", "[TSS04] Messages from 192.0.2.1 temporarily deferred", null, null));
        List<Classification> expected = new ArrayList<>();
        for (FailureInput in : inputs) {
            expected.add(c.classify(in));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<Classification>>> runs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                runs.add(pool.submit(() -> {
                    List<Classification> got = new ArrayList<>();
                    for (FailureInput in : inputs) {
                        got.add(c.classify(in));
                    }
                    return got;
                }));
            }
            for (Future<List<Classification>> f : runs) {
                List<Classification> got = f.get(60, TimeUnit.SECONDS);
                for (int i = 0; i < got.size(); i++) {
                    assertEquals(expected.get(i).category(), got.get(i).category());
                    assertEquals(expected.get(i).permanent(), got.get(i).permanent());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
