package org.hermod.bounce.internal;

import java.nio.file.Path;
import java.util.Locale;

import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;

/**
 * Not a test: prints microseconds per classification for a typical reply, a long reply that matches no rule, a 10 KB
 * text and a 64 KB hostile one, with the shipped rules. Run it by hand:
 * {@code java -cp target/classes:target/test-classes:<deps> org.hermod.bounce.internal.ClassifyProfile [seconds]}.
 */
public final class ClassifyProfile {

    private ClassifyProfile() {
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2;
        RuleBasedBounceClassifier c = new RuleBasedBounceClassifier((Path) null);
        String filler = "the quick brown fox jumps over the lazy dog and then some ";
        FailureInput typical = FailureInput.reply(550, "5.1.1", "5.1.1 The email account that you tried to reach does"
                + " not exist. Please try double-checking the recipient's email address for typos", "gmail-smtp-in.l.google.com",
                "gmail.com");
        FailureInput long700 = new FailureInput(FailureInput.Kind.REPLY, 0, null, repeat(filler, 700), null, "x.example");
        FailureInput tenK = new FailureInput(FailureInput.Kind.REPLY, 0, null, repeat(filler, 10_240), null, "x.example");
        FailureInput hostile = FailureInput.reply(550, null, "a".repeat(65_536), null, "x.example");
        for (FailureInput in : new FailureInput[] {typical, long700, tenK, hostile}) {
            Classification r = c.classify(in);
            double us = time(c, in, seconds);
            System.out.printf(Locale.ROOT, "%-8s %6d chars  %9.1f us/classification  -> %s (%s)%n", name(in, typical,
                    long700, tenK), in.text().length(), us, r.category(), r.trace().matched());
        }
    }

    private static String name(FailureInput in, FailureInput typical, FailureInput long700, FailureInput tenK) {
        return in == typical ? "typical" : in == long700 ? "long-700" : in == tenK ? "10KB" : "64KB-a";
    }

    private static double time(RuleBasedBounceClassifier c, FailureInput in, double seconds) {
        long end = System.nanoTime() + (long) (seconds * 0.3e9);
        while (System.nanoTime() < end) { // warm up
            c.classify(in);
        }
        long start = System.nanoTime();
        end = start + (long) (seconds * 1e9);
        int n = 0;
        long now;
        do {
            c.classify(in);
            n++;
        } while ((now = System.nanoTime()) < end);
        return (now - start) / 1e3 / n;
    }

    private static String repeat(String s, int length) {
        return s.repeat(length / s.length() + 1).substring(0, length);
    }
}
