package org.hermod.routing.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A value pattern of the rules file: {@code /regex/} (Java syntax, case-insensitive, found anywhere unless anchored)
 * or globs separated by commas ({@code *} any run of characters, {@code ?} one character, case-insensitive, whole
 * value).
 *
 * <p>Hostile values cannot stall the router: globs are matched by a linear wildcard matcher (no backtracking regex),
 * a value is matched on its first {@link #MAX_VALUE} characters only, and a regular expression runs against a view of
 * the value that gives up (throws {@link MatchTimeout}: the rule, so the filter call, fails and the command is
 * deferred, logged) after {@link #REGEX_MILLIS} ms or when the thread is interrupted (the filter's budget ran out).
 */
final class TextPattern {

    /** Characters of a value that are matched; the rest of a longer value is ignored. */
    static final int MAX_VALUE = 64 * 1024;
    /** Time one regular-expression match may take. */
    static final long REGEX_MILLIS = 200;

    /** A regular expression ran past its time or its thread was interrupted. */
    static final class MatchTimeout extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MatchTimeout(String message) {
            super(message);
        }
    }

    private final String source;
    private final Pattern regex;
    private final List<String> globs;

    private TextPattern(String source, Pattern regex, List<String> globs) {
        this.source = source;
        this.regex = regex;
        this.globs = globs;
    }

    static TextPattern parse(String s) {
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty pattern");
        }
        if (s.length() >= 2 && s.startsWith("/") && s.endsWith("/")) {
            try {
                return new TextPattern(s, Pattern.compile(s.substring(1, s.length() - 1),
                        Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE), List.of());
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("bad regular expression " + s + ": " + e.getDescription());
            }
        }
        List<String> globs = new ArrayList<>();
        for (String g : s.split(",")) {
            if (!g.isBlank()) {
                globs.add(g.strip().toLowerCase(Locale.ROOT));
            }
        }
        return new TextPattern(s, null, List.copyOf(globs));
    }

    /**
     * The classic two-pointer wildcard match, O(value × glob) at worst: on a mismatch after a {@code *} it retries
     * from the character after the last one that {@code *} took, never revisiting earlier stars.
     */
    static boolean glob(String g, String v) {
        int gi = 0;
        int vi = 0;
        int star = -1;
        int taken = 0;
        while (vi < v.length()) {
            if (gi < g.length() && (g.charAt(gi) == '?' || g.charAt(gi) == v.charAt(vi))) {
                gi++;
                vi++;
            } else if (gi < g.length() && g.charAt(gi) == '*') {
                star = gi++;
                taken = vi;
            } else if (star >= 0) {
                gi = star + 1;
                vi = ++taken;
            } else {
                return false;
            }
        }
        while (gi < g.length() && g.charAt(gi) == '*') {
            gi++;
        }
        return gi == g.length();
    }

    boolean matches(String value) {
        if (value == null) {
            return false;
        }
        String v = value.length() > MAX_VALUE ? value.substring(0, MAX_VALUE) : value;
        if (regex != null) {
            return regex.matcher(new Deadline(v, System.nanoTime() + REGEX_MILLIS * 1_000_000L, source)).find();
        }
        v = v.toLowerCase(Locale.ROOT);
        for (String g : globs) {
            if (glob(g, v)) {
                return true;
            }
        }
        return false;
    }

    /** The value as the regex engine reads it, checking the time and interruption every 1024 reads. */
    private static final class Deadline implements CharSequence {
        private final String s;
        private final long deadline;
        private final String pattern;
        private int reads;

        Deadline(String s, long deadline, String pattern) {
            this.s = s;
            this.deadline = deadline;
            this.pattern = pattern;
        }

        @Override
        public char charAt(int index) {
            if ((++reads & 1023) == 0 && (System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted())) {
                throw new MatchTimeout("pattern " + pattern + " gave up on a " + s.length()
                        + "-character value after " + REGEX_MILLIS + " ms (or its filter call was interrupted)");
            }
            return s.charAt(index);
        }

        @Override
        public int length() {
            return s.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return s.subSequence(start, end);
        }

        @Override
        public String toString() {
            return s;
        }
    }

    @Override
    public String toString() {
        return source;
    }
}
