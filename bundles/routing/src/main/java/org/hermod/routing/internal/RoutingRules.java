package org.hermod.routing.internal;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.RouteTester;

/**
 * The rules of one version of the rules file, by stage, in file order. Immutable. Per stage the first rule whose
 * conditions all hold applies; a rule with {@code continue} lets the following rules be tried too (their changes add
 * up, a later one wins a field); a final action (reject, defer, hold, discard, accept) always ends the stage.
 */
final class RoutingRules {

    private final String source;
    private final Map<Stage, List<RouteRule>> byStage;

    RoutingRules(String source, List<RouteRule> rules) {
        this.source = source;
        Map<Stage, List<RouteRule>> m = new EnumMap<>(Stage.class);
        for (Stage s : Stage.values()) {
            m.put(s, rules.stream().filter(r -> r.stage() == s).toList());
        }
        this.byStage = m;
    }

    static RoutingRules empty(String source) {
        return new RoutingRules(source, List.of());
    }

    String source() {
        return source;
    }

    int size() {
        return byStage.values().stream().mapToInt(List::size).sum();
    }

    /** The stages that have rules. */
    Set<Stage> stages() {
        Set<Stage> s = EnumSet.noneOf(Stage.class);
        byStage.forEach((k, v) -> {
            if (!v.isEmpty()) {
                s.add(k);
            }
        });
        return s;
    }

    /**
     * Evaluates a stage's rules.
     *
     * @param subject for route-test: the recipient a RCPT stage is run for, else null
     * @param trace where the rules that matched are added (route-test), or null
     */
    FilterDecision evaluate(Stage stage, Facts facts, String subject, List<RouteTester.Match> trace) {
        FilterDecision d = FilterDecision.proceed();
        for (RouteRule r : byStage.get(stage)) {
            List<String> why = r.match(facts);
            if (why == null) {
                continue;
            }
            if (trace != null) {
                trace.add(new RouteTester.Match(stage.name().toLowerCase(java.util.Locale.ROOT), subject, r.line(),
                        r.text(), String.join(", ", why)));
            }
            d = r.applyTo(d);
            if (d.isFinal() || !r.goOn()) {
                break;
            }
        }
        return d;
    }

    /** The rules of a stage (tests). */
    List<RouteRule> rules(Stage stage) {
        return new ArrayList<>(byStage.get(stage));
    }
}
