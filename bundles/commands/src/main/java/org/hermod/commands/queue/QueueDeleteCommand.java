package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-delete", description = "Deletes queued mail without notifying the sender, by queue id or with -d by domain")
@Service
public class QueueDeleteCommand extends QueueActionCommand {

    @Override
    String onDomain(String d) {
        return queues.deleteDomain(d) + " message(s) deleted for " + d;
    }

    @Override
    String onId(String id) {
        return id + (queues.delete(id) ? ": deleted" : ": not in the queue");
    }
}
