package org.hermod.routing.internal;

import java.util.ArrayList;
import java.util.List;

import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.RouteChange;

/**
 * One line of the rules file: a stage, conditions that must all hold, and what to do. Immutable.
 *
 * @param line the line number
 * @param text the line as written
 * @param stage the stage it applies at
 * @param conditions all must match
 * @param change route changes
 * @param headersAdded header fields to add (end of data)
 * @param headersRemoved header fields to remove (end of data)
 * @param end a final action (accept, reject, defer, hold, discard), or null
 * @param goOn {@code continue}: later rules of the stage are tried after this one matched
 */
record RouteRule(int line, String text, Stage stage, List<Condition> conditions, RouteChange change,
                 List<HeaderField> headersAdded, List<String> headersRemoved, FilterDecision end, boolean goOn) {

    /** What matched, one entry per condition; null when a condition does not hold. */
    List<String> match(Facts f) {
        List<String> why = new ArrayList<>(conditions.size());
        for (Condition c : conditions) {
            String w = c.test(f);
            if (w == null) {
                return null;
            }
            why.add(w);
        }
        return why;
    }

    /** The decision so far with this rule's changes and action applied. */
    FilterDecision applyTo(FilterDecision so) {
        FilterDecision d = end == null ? so : ChainSnapshot.actionOf(end).withRoute(so.route());
        if (end != null) {
            for (HeaderField h : so.headersAdded()) {
                d = d.withHeaderAdded(h.name(), h.value());
            }
            for (String h : so.headersRemoved()) {
                d = d.withHeaderRemoved(h);
            }
        }
        d = d.withRoute(change);
        for (String h : headersRemoved) {
            d = d.withHeaderRemoved(h);
        }
        for (HeaderField h : headersAdded) {
            d = d.withHeaderAdded(h.name(), h.value());
        }
        return d;
    }
}
