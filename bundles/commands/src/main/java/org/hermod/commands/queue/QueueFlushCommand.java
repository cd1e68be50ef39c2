package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-flush", description = "Retries deferred mail now, for one domain or all")
@Service
public class QueueFlushCommand extends QueueCommandSupport {

    @Argument(index = 0, name = "domain", description = "Destination domain (default: all)")
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    public Object execute() {
        int n = queues.flush(domain);
        System.out.println(n + " deferred item(s) scheduled for immediate delivery" + (domain == null ? "" : " to " + domain));
        return null;
    }
}
