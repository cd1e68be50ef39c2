package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-delete", description = "Deletes queued mail without notifying the sender, by queue id or with -d by domain")
@Service
public class QueueDeleteCommand extends QueueCommandSupport {

    @Option(name = "-d", aliases = "--domain", description = "Delete every recipient queued for this domain")
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 0, name = "ids", description = "Queue ids", multiValued = true)
    @Completion(QueueIdCompleter.class)
    java.util.List<String> ids;

    @Override
    public Object execute() {
        if (domain != null) {
            System.out.println(queues.deleteDomain(domain) + " message(s) deleted for " + domain);
        }
        if (ids != null) {
            for (String id : ids) {
                System.out.println(id + (queues.delete(id) ? ": deleted" : ": not in the queue"));
            }
        }
        if (domain == null && ids == null) {
            System.out.println("Give queue ids or -d <domain>.");
        }
        return null;
    }
}
