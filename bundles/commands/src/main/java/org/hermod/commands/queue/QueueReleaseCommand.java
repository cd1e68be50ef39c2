package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-release", description = "Releases a held message (by an operator or a routing rule) for delivery now")
@Service
public class QueueReleaseCommand extends QueueCommandSupport {

    @Argument(index = 0, name = "id", required = true, description = "Queue id (see queue-list --held)")
    @Completion(HeldIdCompleter.class)
    String id;

    @Override
    public Object execute() {
        System.out.println(id + (queues.releaseHold(id) ? ": released" : ": was not held"));
        return null;
    }
}
