package org.hermod.bounce.internal.rules;

/**
 * One failure text, folded ({@link Literals#fold}) on first use and then shared by every rule tried on it, so the
 * literal filters of all the rules' expressions cost one pass over the text plus a few table look-ups per literal:
 * a literal one of whose adjacent character pairs never occurs in the text is rejected without a substring search.
 */
public final class FoldedText {

    private final CharSequence text;
    private String folded;
    /** Bit {@code a * 128 + b} is set when the ASCII pair {@code ab} occurs in the folded text. */
    private long[] pairs;

    public FoldedText(CharSequence text) {
        this.text = text;
    }

    /** True when the folded text contains at least one of the (folded, ASCII) literals. */
    boolean containsAny(String[] literals) {
        if (folded == null) {
            index();
        }
        for (String lit : literals) {
            if (mayContain(lit) && folded.contains(lit)) {
                return true;
            }
        }
        return false;
    }

    private boolean mayContain(String lit) {
        for (int i = 1; i < lit.length(); i++) {
            int p = pair(lit.charAt(i - 1), lit.charAt(i));
            if (p < 0 || (pairs[p >>> 6] & (1L << p)) == 0) {
                return false;
            }
        }
        return true;
    }

    private void index() {
        String f = Literals.fold(text);
        long[] bits = new long[128 * 128 / 64];
        for (int i = 1; i < f.length(); i++) {
            int p = pair(f.charAt(i - 1), f.charAt(i));
            if (p >= 0) {
                bits[p >>> 6] |= 1L << p;
            }
        }
        pairs = bits;
        folded = f;
    }

    private static int pair(char a, char b) {
        return a < 128 && b < 128 ? a * 128 + b : -1;
    }
}
