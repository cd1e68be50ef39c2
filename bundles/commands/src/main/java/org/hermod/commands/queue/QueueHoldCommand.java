package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-hold", description = "Holds a message: it stays queued but is not delivered until queue-release (an attempt in progress finishes)")
@Service
public class QueueHoldCommand extends QueueCommandSupport {

    @Argument(index = 0, name = "id", required = true, description = "Queue id")
    @Completion(QueueIdCompleter.class)
    String id;

    @Option(name = "--reason", description = "Why (shown in queue-show and queue-list --held)")
    String reason = "operator";

    @Override
    public Object execute() {
        System.out.println(id + (queues.hold(id, reason) ? ": held (" + reason + ")" : ": no such message queued"));
        return null;
    }
}
