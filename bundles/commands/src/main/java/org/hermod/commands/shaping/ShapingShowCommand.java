package org.hermod.commands.shaping;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.Site;

@Command(scope = "hermod", name = "shaping-show", description = "Shows per egress path the configured limits (and the rule each came from), the limits in force, connections, waiting mail, and the throttling or suspension in force with the event that caused it")
@Service
public class ShapingShowCommand extends ShapingCommandSupport {

    @Argument(index = 0, name = "target", required = false, description = "A site, a domain (its site), or a source; all known paths when left out")
    @Completion(TargetCompleter.class)
    String target;

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        Map<String, List<String>> bySite = egress == null ? Map.of() : egress.domainsBySite();
        Map<String, Integer> waitingBySite = new java.util.HashMap<>();
        if (egress != null) {
            egress.waitingByPoolAndSite().forEach((k, n) -> waitingBySite.merge(k.substring(k.indexOf('@') + 1), n,
                    Integer::sum));
        }
        Map<String, Integer> active = egress == null ? Map.of() : egress.activeByPath();
        Set<String> paths = new TreeSet<>();
        paths.addAll(active.keySet());
        shaping.state().forEach(s -> paths.add(s.path().toString()));
        String resolved = target == null ? null : TargetCompleter.resolve(target, shaping, egress);
        boolean isSource = target != null && shaping.sources().stream().map(EgressSource::name).anyMatch(target::equals);
        if (resolved != null && !isSource && !resolved.contains("->")) {
            // a site: show it from every source, even when nothing runs there now
            for (EgressSource s : shaping.sources()) {
                paths.add(s.name() + "->" + resolved);
            }
        }
        int shown = 0;
        Instant now = Instant.now();
        for (String p : paths) {
            int arrow = p.indexOf("->");
            if (arrow < 0 || p.startsWith("(no source)")) {
                continue;
            }
            EgressPath path = new EgressPath(p.substring(0, arrow), p.substring(arrow + 2));
            if (resolved != null && !(isSource ? path.source().equals(resolved) : resolved.contains("->")
                    ? p.equals(resolved) : path.site().equals(resolved))) {
                continue;
            }
            List<String> domains = bySite.getOrDefault(path.site(), List.of());
            String domain = domains.isEmpty() ? null : domains.get(0);
            Site site = domain != null && egress != null ? egress.siteOf(domain).orElse(new Site(path.site(), null,
                    List.of())) : new Site(path.site(), null, List.of());
            show(shaping, path, site, domain, domains, waitingBySite.getOrDefault(path.site(), 0),
                    active.getOrDefault(p, 0), now);
            shown++;
        }
        if (shown == 0) {
            System.out.println(target == null ? "No egress path has carried mail since delivery started."
                    : "Nothing known for " + target + " (delivery learns a domain's site when mail for it is due).");
        }
        return null;
    }

    private static void show(Shaping shaping, EgressPath path, Site site, String domain, List<String> domains,
                             int waiting, int active, Instant now) {
        Shaping.Explanation ex = shaping.explain(path, site, domain);
        PathDecision d = shaping.decide(path, site, domain, now);
        System.out.println(path + (site.provider() == null ? "" : "  (provider " + site.provider() + ")"));
        System.out.println("  domains:    " + (domains.isEmpty() ? "-" : domains.size() <= 5 ? String.join(", ", domains)
                : String.join(", ", domains.subList(0, 5)) + " and " + (domains.size() - 5) + " more"));
        System.out.println("  strategy:   " + ex.strategy());
        System.out.println("  configured: " + ex.limits());
        ex.origins().forEach((field, origin) -> System.out.println("      " + field + " <- " + origin));
        System.out.println("  in force:   " + d.limits() + (d.because() == null ? "" : "  (" + d.because() + ")"));
        if (d.suspendedAt(now)) {
            System.out.println("  SUSPENDED until " + d.suspendedUntil() + " (" + when(d.suspendedUntil()) + ")");
        }
        System.out.println("  now:        " + active + " delivering on this path, " + waiting
                + " waiting for the site (any source of their pool)");
        for (PathState st : shaping.state()) {
            if (st.path().equals(path)) {
                System.out.printf("  state:      factor %.2f%s%s%n", st.factor(), st.reason() == null ? "" : ", " + st.reason(),
                        st.suspendedUntil() == null ? "" : ", suspended until " + st.suspendedUntil());
            }
        }
        List<ShapingEvent> last = shaping.events(path.site(), path.source(), 1);
        if (!last.isEmpty()) {
            System.out.println("  last event:");
            ShapingCommandSupport.print(last.get(0));
        }
    }
}
