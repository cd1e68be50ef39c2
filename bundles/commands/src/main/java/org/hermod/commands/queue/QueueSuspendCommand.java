package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-suspend", description = "Holds delivery to a domain; mail stays queued until queue-resume")
@Service
public class QueueSuspendCommand extends QueueCommandSupport {

    @Argument(index = 0, name = "domain", required = true, description = "Destination domain")
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    public Object execute() {
        System.out.println(domain + (queues.suspend(domain) ? ": suspended" : ": was already suspended"));
        return null;
    }
}
