package org.hermod.api.bounce;

import java.util.List;
import java.util.Objects;

/**
 * The verdict on one failure.
 *
 * @param category the category name (see {@link BounceCategory})
 * @param permanent true for a hard (5xx-like) failure, false for a temporary one
 * @param enhancedStatus the enhanced status code found or inferred, or null
 * @param trace why: which rule decided and what else was considered
 */
public record Classification(String category, boolean permanent, String enhancedStatus, Trace trace) {

    public Classification {
        Objects.requireNonNull(category, "category");
        Objects.requireNonNull(trace, "trace");
    }

    /**
     * @param source the rule file (or "builtin")
     * @param ruleId the id of the rule that fired, or null when none did (then the category is a fallback)
     * @param matched what the rule matched (the code, status or text fragment)
     * @param considered ids of the other rules that were evaluated before a match, in order
     */
    public record Trace(String source, String ruleId, String matched, List<String> considered) {
        public Trace {
            considered = List.copyOf(considered == null ? List.of() : considered);
        }
    }
}
