package org.hermod.commands.queue;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;

/** Base of the commands that act on queued mail by queue id or, with -d, on everything queued for a domain. */
public abstract class QueueActionCommand extends QueueCommandSupport {

    @Option(name = "-d", aliases = "--domain", description = "Act on every recipient queued for this domain")
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 0, name = "ids", description = "Queue ids", multiValued = true)
    @Completion(QueueIdCompleter.class)
    List<String> ids;

    /** Acts on a domain; returns the line to print. */
    abstract String onDomain(String d);

    /** Acts on one message; returns the line to print. */
    abstract String onId(String id);

    @Override
    public Object execute() {
        if (domain == null && (ids == null || ids.isEmpty())) {
            System.out.println("Give queue ids or -d <domain>.");
            return null;
        }
        if (domain != null) {
            System.out.println(onDomain(domain));
        }
        if (ids != null) {
            ids.forEach(id -> System.out.println(onId(id)));
        }
        return null;
    }
}
