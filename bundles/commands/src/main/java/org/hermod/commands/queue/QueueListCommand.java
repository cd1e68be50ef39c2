package org.hermod.commands.queue;

import java.util.List;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.spool.DomainSummary;

@Command(scope = "hermod", name = "queue-list", description = "Lists the queues per destination domain: messages, deferred, oldest age, next attempt, last error")
@Service
public class QueueListCommand extends QueueCommandSupport {

    @Option(name = "-n", aliases = "--limit", description = "Show at most this many domains (largest first)")
    int limit = 1000;

    @Option(name = "-i", aliases = "--ids", description = "Print every queued message id, one per line (oldest first), instead of the summary")
    boolean ids;

    @Option(name = "-s", aliases = "--by-site", description = "One line per destination site (domains sharing an MX host set) instead of per domain")
    boolean bySite;

    @Option(name = "-p", aliases = "--by-pool", description = "One line per source pool (chosen by the sender's domain) instead of per domain")
    boolean byPool;

    @Option(name = "--held", description = "List the held messages (by an operator or a routing rule): id, reason, sender, recipients, route")
    boolean held;

    @org.apache.karaf.shell.api.action.lifecycle.Reference(optional = true)
    org.hermod.api.delivery.EgressView egress;

    @org.apache.karaf.shell.api.action.lifecycle.Reference(optional = true)
    org.hermod.api.shaping.Shaping shaping;

    @Override
    public Object execute() {
        if (held) {
            return listHeld();
        }
        if (bySite) {
            return listBySite();
        }
        if (byPool) {
            return listByPool();
        }
        if (ids) {
            queues.queueIds(null, Integer.MAX_VALUE).forEach(System.out::println);
            return null;
        }
        List<DomainSummary> all = queues.summaries();
        if (all.isEmpty()) {
            System.out.println("Queue is empty.");
            return null;
        }
        all = all.stream().sorted((a, b) -> Integer.compare(b.messages(), a.messages())).limit(limit).toList();
        System.out.printf("%-32s %8s %8s %6s %9s %12s  %s%n", "DOMAIN", "MESSAGES", "DEFERRED", "ACTIVE", "OLDEST", "NEXT", "LAST ERROR");
        int total = 0;
        for (DomainSummary s : all) {
            total += s.messages();
            System.out.printf("%-32s %8d %8d %6d %9s %12s  %s%n", s.domain() + (s.suspended() ? " (held)" : ""),
                    s.messages(), s.deferred(), s.active(), age(s.oldestArrival()), until(s.nextAttempt()),
                    s.lastError() == null ? "" : s.lastError());
        }
        System.out.println(all.size() + " domain(s), " + total + " message(s) queued");
        return null;
    }

    private Object listHeld() {
        List<String> ids = queues.held(limit);
        if (ids.isEmpty()) {
            System.out.println("No held messages.");
            return null;
        }
        System.out.printf("%-24s %-30s %-32s %5s  %s%n", "ID", "REASON", "SENDER", "RCPTS", "ROUTE");
        int shown = 0;
        for (String id : ids) {
            java.util.Optional<org.hermod.api.spool.MessageInfo> m = queues.message(id);
            if (m.isEmpty()) {
                continue; // delivered, expired or deleted since
            }
            org.hermod.api.spool.MessageInfo i = m.get();
            String sender = i.envelope().sender().isNullSender() ? "<>" : i.envelope().sender().toString();
            System.out.printf("%-24s %-30s %-32s %5d  %s%n", id, i.holdReason() == null ? "-" : i.holdReason(),
                    sender, i.envelope().recipients().size(), i.route().isDefault() ? "default" : i.route());
            shown++;
        }
        System.out.println(shown + " held message(s); release one with hermod:queue-release <id>");
        return null;
    }

    private Object listBySite() {
        java.util.Map<String, int[]> sites = new java.util.TreeMap<>();
        java.util.Map<String, Integer> domains = new java.util.TreeMap<>();
        for (DomainSummary s : queues.summaries()) {
            String site = egress == null ? "(delivery not running)"
                    : egress.siteOf(s.domain()).map(x -> x.key()).orElse("(not looked up yet)");
            int[] c = sites.computeIfAbsent(site, k -> new int[3]);
            c[0] += s.messages();
            c[1] += s.deferred();
            c[2] += s.active();
            domains.merge(site, 1, Integer::sum);
        }
        if (sites.isEmpty()) {
            System.out.println("Queue is empty.");
            return null;
        }
        System.out.printf("%-60s %8s %8s %8s %6s%n", "SITE (MX HOSTS)", "DOMAINS", "MESSAGES", "DEFERRED", "ACTIVE");
        sites.forEach((site, c) -> System.out.printf("%-60s %8d %8d %8d %6d%n", site, domains.get(site), c[0], c[1], c[2]));
        return null;
    }

    private Object listByPool() {
        java.util.Map<String, Integer> bySender = queues.messagesBySenderDomain();
        if (bySender.isEmpty()) {
            System.out.println("Queue is empty.");
            return null;
        }
        java.util.Map<String, int[]> pools = new java.util.TreeMap<>();
        bySender.forEach((domain, n) -> {
            String pool = shaping == null ? "(no shaping: one source)" : shaping.poolFor(domain);
            int[] c = pools.computeIfAbsent(pool, k -> new int[2]);
            c[0] += n;
            c[1]++;
        });
        System.out.printf("%-24s %14s %10s%n", "POOL", "SENDER DOMAINS", "MESSAGES");
        pools.forEach((pool, c) -> System.out.printf("%-24s %14d %10d%n", pool, c[1], c[0]));
        return null;
    }
}
