package org.hermod.commands.filter;

import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.RouteTester;
import org.hermod.api.routing.Route;

@Command(scope = "hermod", name = "route-test", description = "Dry run of the rule router: which rules a message would match, why, and the route and outcome it would get (nothing is sent)")
@Service
public class RouteTestCommand implements Action {

    @Reference
    RouteTester router;

    @Option(name = "--from", required = true, description = "Sender address ('' for the null sender)")
    String from;

    @Option(name = "--to", required = true, multiValued = true, description = "Recipient address (repeat for more)")
    List<String> to;

    @Option(name = "--header", multiValued = true, description = "A header field 'Name: value' the end-of-data rules see (repeatable)")
    List<String> headers;

    @Option(name = "--client", description = "Client IP address (default 127.0.0.1)")
    String client;

    @Option(name = "--user", description = "Authenticated user")
    String user;

    @Option(name = "--size", description = "Message size in bytes (default 0)")
    long size;

    @Override
    public Object execute() {
        RouteTester.Result r;
        try {
            List<HeaderField> hs = new ArrayList<>();
            if (headers != null) {
                for (String h : headers) {
                    int colon = h.indexOf(':');
                    if (colon <= 0) {
                        System.out.println("Error: --header takes 'Name: value', not " + h);
                        return null;
                    }
                    hs.add(new HeaderField(h.substring(0, colon).strip(), h.substring(colon + 1).strip()));
                }
            }
            r = router.test(new RouteTester.Query(from, to, hs, client, user, size));
        } catch (IllegalArgumentException e) {
            System.out.println("Error: " + e.getMessage());
            return null;
        }
        System.out.println("Rules: " + r.rulesFile());
        if (r.matches().isEmpty()) {
            System.out.println("No rule matched.");
        }
        for (RouteTester.Match m : r.matches()) {
            System.out.printf("%-7s line %-4d %s%n", m.stage() + (m.subject() == null ? "" : ""), m.line(),
                    m.rule());
            System.out.println("             because " + m.why() + (m.subject() == null ? "" : " (for " + m.subject()
                    + ")"));
        }
        StringBuilder outcome = new StringBuilder("Outcome: ").append(r.action().name().toLowerCase(
                java.util.Locale.ROOT));
        if (r.reply() != null) {
            outcome.append(' ').append(r.reply().code()).append(' ').append(r.reply().enhancedStatus()).append(' ')
                    .append(r.reply().text());
        }
        if (r.holdReason() != null) {
            outcome.append(" (").append(r.holdReason()).append(')');
        }
        System.out.println(outcome);
        System.out.println("Route:   " + describe(r.route()));
        r.headersAdded().forEach(h -> System.out.println("Adds:    " + h.name() + ": " + h.value()));
        return null;
    }

    static String describe(Route route) {
        if (route.isDefault()) {
            return "default (MX delivery, pool chosen by shaping, priority 0)";
        }
        List<String> parts = new ArrayList<>();
        parts.add("pool=" + (route.pool() == null ? "(shaping's choice)" : route.pool()));
        parts.add("smarthost=" + (route.smarthost() == null ? "(MX)" : route.smarthost()));
        if (route.tenant() != null) {
            parts.add("tenant=" + route.tenant());
        }
        if (route.campaign() != null) {
            parts.add("campaign=" + route.campaign());
        }
        parts.add("priority=" + route.priority());
        route.tags().forEach((k, v) -> parts.add("tag:" + k + "=" + v));
        return String.join(" ", parts);
    }
}
