package org.hermod.commands.filter;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.filter.FilterAdmin.FilterCounters;
import org.hermod.api.filter.FilterAdmin.FilterInfo;
import org.hermod.api.filter.FilterDecision;

@Command(scope = "hermod", name = "filter-list", description = "Lists the routing filters in chain order: name, version, bundle, stages, ranking, enabled, counters (calls, decisions, errors, timeouts, mean and p99 latency)")
@Service
public class FilterListCommand extends FilterCommandSupport {

    private static final String ROW = "%-20s %-12s %-34s %-22s %7s %-3s %9s %9s %7s %7s %8s %8s  %s%n";

    @Override
    public Object execute() {
        List<FilterInfo> all = filters.filters();
        if (all.isEmpty()) {
            System.out.println("No routing filters (the rule router joins when etc/hermod-routing.rules has rules).");
            return null;
        }
        System.out.printf(ROW, "NAME", "VERSION", "BUNDLE", "STAGES", "RANKING", "ON", "CALLS", "REFUSED", "ERRORS",
                "TIMEOUTS", "MEAN ms", "P99 ms", "DECISIONS / KEPT VERSIONS");
        for (FilterInfo f : all) {
            FilterCounters c = f.counters();
            long refused = c.decisions().getOrDefault(FilterDecision.Action.REJECT, 0L)
                    + c.decisions().getOrDefault(FilterDecision.Action.DEFER, 0L);
            String decisions = c.decisions().entrySet().stream().filter(e -> e.getValue() > 0)
                    .map(e -> e.getKey().name().toLowerCase(Locale.ROOT) + "=" + e.getValue())
                    .collect(Collectors.joining(" "));
            String stages = f.stages().stream().map(s -> s.name().toLowerCase(Locale.ROOT).replace("pre_delivery",
                    "delivery")).collect(Collectors.joining(","));
            System.out.printf(Locale.ROOT, ROW, f.name(), f.version(), f.bundle() + " [" + f.bundleId() + "]", stages,
                    f.ranking(), f.enabled() ? "yes" : "NO", c.calls(), refused, c.errors(), c.timeouts(),
                    String.format(Locale.ROOT, "%.2f", c.meanMillis()),
                    String.format(Locale.ROOT, "%.2f", c.p99Millis()),
                    (decisions.isEmpty() ? "-" : decisions) + (f.versions().isEmpty() ? ""
                            : " / kept " + String.join(",", f.versions())));
        }
        return null;
    }
}
