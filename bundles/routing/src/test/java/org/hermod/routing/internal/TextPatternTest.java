package org.hermod.routing.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** Globs and regular expressions of the rules file, and hostile values that must not stall the router. */
public class TextPatternTest {

    @Test
    public void globsMatchWholeValuesCaseInsensitively() {
        TextPattern p = TextPattern.parse("*.blocked.test, blocked.test,a?c");
        assertTrue(p.matches("mx.Blocked.TEST"));
        assertTrue(p.matches("blocked.test"));
        assertTrue(p.matches("abc"));
        assertFalse(p.matches("notblocked.test"));
        assertFalse(p.matches("abcd"));
        assertFalse(p.matches("blocked.test.example"));
        assertTrue(TextPattern.parse("*").matches(""));
        assertTrue(TextPattern.parse("a*b*c").matches("aXXbYYbc"));
        assertFalse(TextPattern.parse("a*b*c").matches("aXXbYYb"));
    }

    @Test
    public void aHostileValueAgainstManyStarsFinishesFast() {
        TextPattern p = TextPattern.parse("*a*a*a*a*a*a*a*a*b");
        String hostile = "a".repeat(200_000); // longer than the cap as well
        long t0 = System.nanoTime();
        assertFalse(p.matches(hostile));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue("linear glob matching, not backtracking: " + ms + " ms", ms < 1000);
    }

    @Test
    public void aCatastrophicRegexGivesUpInsteadOfRunningOn() {
        TextPattern p = TextPattern.parse("/(.*a){10}b/");
        assertTrue(p.matches("xaaaaaaaaaab"));
        String hostile = "a".repeat(3000);
        long t0 = System.nanoTime();
        assertThrows(TextPattern.MatchTimeout.class, () -> p.matches(hostile));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue("gave up near its " + TextPattern.REGEX_MILLIS + " ms: " + ms + " ms", ms < 2000);
    }

    @Test
    public void anInterruptedFilterCallStopsItsRegex() {
        TextPattern p = TextPattern.parse("/(.*a){10}b/");
        Thread.currentThread().interrupt();
        try {
            long t0 = System.nanoTime();
            assertThrows(TextPattern.MatchTimeout.class, () -> p.matches("a".repeat(3000)));
            assertTrue((System.nanoTime() - t0) / 1_000_000 < TextPattern.REGEX_MILLIS);
        } finally {
            Thread.interrupted();
        }
    }
}
