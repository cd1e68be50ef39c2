package org.hermod.bounce.internal.rules;

import java.util.List;

import org.hermod.api.bounce.FailureInput;

/**
 * One classification rule: all conditions must match.
 *
 * @param id the rule id (unique within its file)
 * @param source the file (or resource) it came from
 * @param conditions the conditions, all of which must match
 * @param category the category it assigns
 * @param permanent forced permanence, or null to derive it from the status/reply code
 * @param evidence how strong the evidence it relies on is: the shipped rules are tried strongest first
 */
public record Rule(String id, String source, List<Condition> conditions, String category, Boolean permanent,
                   Evidence evidence) {

    public Rule {
        conditions = List.copyOf(conditions);
        if (evidence == null) {
            evidence = Evidence.derive(conditions);
        }
    }

    public Rule(String id, String source, List<Condition> conditions, String category, Boolean permanent) {
        this(id, source, conditions, category, permanent, null);
    }

    /** What the rule matched (joined descriptions), or null when it does not match. */
    public String match(FailureInput in) {
        return match(in, new FoldedText(in.text()));
    }

    /** The same, with the input's text folded once for every rule tried on it. */
    public String match(FailureInput in, FoldedText folded) {
        StringBuilder sb = new StringBuilder();
        for (Condition c : conditions) {
            String m = c.match(in, folded);
            if (m == null) {
                return null;
            }
            if (!m.isEmpty()) {
                if (sb.length() > 0) {
                    sb.append(", ");
                }
                sb.append(m);
            }
        }
        return sb.toString();
    }
}
