package org.hermod.shaping.internal;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

import org.hermod.api.shaping.Feedback;

/**
 * {@code on [scope] [result=deferred] [reply=421|4xx] [status=4.7.0|4.7.*] [text=/regex/] [category=spam-related]
 * [count=3 within=5m] -> decrease 0.5 | suspend 30m | decrease 0.5 suspend 10m | move bulk [for 1h] |
 * bounce [for 1h]}: a reply that matches every condition given counts towards the rule on the (source, site) path;
 * when {@code count} of them fell within {@code within} (default: 1, i.e. at once) the action is taken.
 *
 * @param decrease the factor connections and rates are multiplied by (0..1), or 0 for none
 * @param suspend how long the path is suspended, or null
 * @param moveTo the pool the path's mail is diverted to, or null
 * @param moveFor how long the diversion lasts (set when moveTo is)
 * @param bounceFor how long the path's mail is returned to its senders, or null for no bounce
 */
public record ResponseRule(Scope scope, Feedback.Result result, String reply, String status, Pattern text,
                           String category, int count, Duration within, double decrease, Duration suspend,
                           String moveTo, Duration moveFor, Duration bounceFor, Origin origin, String line) {

    /** What {@code move} and {@code bounce} last without {@code for}. */
    public static final Duration DEFAULT_FOR = Duration.ofHours(1);

    /** Decreases or suspends (changes the path's limits), as opposed to only moving or bouncing its mail. */
    public boolean throttles() {
        return decrease > 0 || suspend != null;
    }

    public boolean matches(Feedback f) {
        if (result != null && f.result() != result) {
            return false;
        }
        if (reply != null && !codeMatches(reply, f.code())) {
            return false;
        }
        if (status != null && !statusMatches(status, f.enhancedStatus())) {
            return false;
        }
        if (category != null && !category.equalsIgnoreCase(f.category() == null ? "" : f.category())) {
            return false;
        }
        return text == null || text.matcher(f.replyLine()).find();
    }

    static boolean codeMatches(String pattern, int code) {
        String c = Integer.toString(code);
        if (pattern.length() != c.length()) {
            return false;
        }
        for (int i = 0; i < c.length(); i++) {
            char p = Character.toLowerCase(pattern.charAt(i));
            if (p != 'x' && p != '*' && p != c.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    static boolean statusMatches(String pattern, String status) {
        if (status == null) {
            return false;
        }
        String s = status.strip().toLowerCase(Locale.ROOT);
        String p = pattern.toLowerCase(Locale.ROOT);
        return p.endsWith("*") ? s.startsWith(p.substring(0, p.length() - 1)) : s.equals(p);
    }

    /** What the action does, e.g. "decrease x0.5", "suspend 30m", "move bulk for 1h" or "bounce for 1h". */
    public String action() {
        StringBuilder b = new StringBuilder();
        if (decrease > 0) {
            b.append("decrease x").append(Rules.num(decrease));
        }
        if (suspend != null) {
            b.append(b.length() > 0 ? ", " : "").append("suspend ").append(Rules.duration(suspend));
        }
        if (moveTo != null) {
            b.append(b.length() > 0 ? ", " : "").append("move ").append(moveTo).append(" for ")
                    .append(Rules.duration(moveFor));
        }
        if (bounceFor != null) {
            b.append(b.length() > 0 ? ", " : "").append("bounce for ").append(Rules.duration(bounceFor));
        }
        return b.toString();
    }
}
