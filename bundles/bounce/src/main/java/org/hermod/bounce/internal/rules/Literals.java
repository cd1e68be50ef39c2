package org.hermod.bounce.internal.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The literals a case-insensitive regular expression cannot match without: one per top-level alternative, so any
 * match contains at least one of them. A text whose {@linkplain #fold folded} form contains none of them cannot match,
 * and the expression need not run. Only plain ASCII characters outside groups, classes and quantified atoms count;
 * anything this reader does not understand gives no literals (the expression then always runs), so the filter never
 * rejects a text the expression would match.
 */
final class Literals {

    /** Escapes of a letter that stand for one position or one character of a class, and nothing else. */
    private static final String SIMPLE_ESCAPES = "bBsSwWdDhHvV";

    private Literals() {
    }

    /**
     * One folded literal per top-level alternative of {@code regex}, or null when some alternative has none (or the
     * expression uses a construct this reader does not follow: inline flags, quoting, numeric escapes).
     */
    static List<String> required(String regex) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int depth = 0;
        for (int i = 0; i <= regex.length(); i++) {
            char ch = i < regex.length() ? regex.charAt(i) : '|';
            if (ch == '\\') {
                i++;
            } else if (ch == '[') {
                i = skipClass(regex, i) - 1;
            } else if (ch == '(') {
                depth++;
            } else if (ch == ')') {
                depth--;
            } else if (ch == '|' && depth == 0) {
                List<String> lits = alternative(regex.substring(start, Math.min(i, regex.length())));
                if (lits == null) {
                    return null;
                }
                out.addAll(lits);
                start = i + 1;
            }
        }
        return out;
    }

    /**
     * Literals one of which every match of one alternative contains (folded): its longest literal run, or the
     * literals of a group it cannot skip when they are longer; null when there are none or this reader is unsure.
     */
    private static List<String> alternative(String b) {
        StringBuilder run = new StringBuilder();
        String best = "";
        List<String> bestGroup = null;
        boolean lastLiteral = false;
        int i = 0;
        while (i < b.length()) {
            char ch = b.charAt(i);
            if (ch == '\\') {
                if (i + 1 >= b.length()) {
                    return null;
                }
                char next = b.charAt(i + 1);
                i += 2;
                if (next < 128 && Character.isLetterOrDigit(next)) {
                    if (SIMPLE_ESCAPES.indexOf(next) < 0) {
                        return null;
                    }
                    best = end(run, best);
                    lastLiteral = false;
                } else if (next < 128) {
                    run.append(next);
                    lastLiteral = true;
                } else {
                    best = end(run, best);
                    lastLiteral = false;
                }
            } else if (ch == '[') {
                best = end(run, best);
                lastLiteral = false;
                i = skipClass(b, i);
            } else if (ch == '(') {
                if (i + 2 < b.length() && b.charAt(i + 1) == '?' && ":=!<>".indexOf(b.charAt(i + 2)) < 0) {
                    return null; // inline flags change how the rest reads
                }
                best = end(run, best);
                lastLiteral = false;
                int open = i;
                i = skipGroup(b, i);
                if (i < 0) {
                    return null;
                }
                List<String> inner = mandatory(b, open, i) ? required(groupBody(b.substring(open, i))) : null;
                if (inner != null && (bestGroup == null || shortest(inner) > shortest(bestGroup))) {
                    bestGroup = inner;
                }
            } else if (ch == '?' || ch == '*' || ch == '+' || ch == '{') {
                if (lastLiteral) {
                    run.setLength(run.length() - 1);
                }
                best = end(run, best);
                lastLiteral = false;
                if (ch == '{') {
                    int close = b.indexOf('}', i);
                    if (close < 0) {
                        return null;
                    }
                    i = close;
                }
                i++;
                if (i < b.length() && (b.charAt(i) == '?' || b.charAt(i) == '+')) {
                    i++; // lazy or possessive
                }
            } else if (ch == '.' || ch == '^' || ch == '$' || ch >= 128) {
                best = end(run, best);
                lastLiteral = false;
                i++;
            } else if (ch == ')' || ch == '|') {
                return null;
            } else {
                run.append(ch);
                lastLiteral = true;
                i++;
            }
        }
        best = end(run, best);
        if (bestGroup != null && shortest(bestGroup) > best.length()) {
            return bestGroup;
        }
        return best.isEmpty() ? null : List.of(best.toLowerCase(Locale.ROOT));
    }

    /** Whether the group {@code b[open, close)} must match (not optional, not a lookaround or named group). */
    private static boolean mandatory(String b, int open, int close) {
        if (b.startsWith("(?", open) && !b.startsWith("(?:", open)) {
            return false;
        }
        if (close < b.length()) {
            char q = b.charAt(close);
            return q != '?' && q != '*' && !b.startsWith("{0", close);
        }
        return true;
    }

    private static String groupBody(String group) {
        return group.substring(group.startsWith("(?:") ? 3 : 1, group.length() - 1);
    }

    private static int shortest(List<String> lits) {
        int min = Integer.MAX_VALUE;
        for (String l : lits) {
            min = Math.min(min, l.length());
        }
        return min;
    }

    private static String end(StringBuilder run, String best) {
        String r = run.length() > best.length() ? run.toString() : best;
        run.setLength(0);
        return r;
    }

    /** Index just after the character class opening at {@code open} (nested classes and escapes included). */
    private static int skipClass(String s, int open) {
        int i = open + 1;
        if (i < s.length() && s.charAt(i) == '^') {
            i++;
        }
        if (i < s.length() && s.charAt(i) == ']') {
            i++;
        }
        int depth = 1;
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '[') {
                depth++;
            } else if (c == ']' && --depth == 0) {
                return i + 1;
            }
        }
        return s.length();
    }

    /** Index just after the group opening at {@code open}, or -1 when it does not close. */
    private static int skipGroup(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '[') {
                i = skipClass(s, i) - 1;
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return i + 1;
            }
        }
        return -1;
    }

    /**
     * The text as the filter compares it: every character that a case-insensitive (Unicode) expression would take for
     * an ASCII character becomes that character in lower case ({@code K} Kelvin sign, long s, dotted and dotless i
     * included); other characters stay as they are and never equal an ASCII literal.
     */
    static String fold(CharSequence text) {
        char[] out = new char[text.length()];
        for (int i = 0; i < out.length; i++) {
            char c = text.charAt(i);
            if (c < 128) {
                out[i] = c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
            } else {
                int f = Character.toLowerCase(Character.toUpperCase((int) c));
                out[i] = f < 128 ? (char) f : c;
            }
        }
        return new String(out);
    }
}
