package org.hermod.commands.queue;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "queue-bounce", description = "Returns queued mail to its sender with a DSN, by queue id or with -d by domain")
@Service
public class QueueBounceCommand extends QueueActionCommand {

    @Override
    String onDomain(String d) {
        return queues.bounceDomain(d) + " message(s) marked for bouncing at " + d;
    }

    @Override
    String onId(String id) {
        return id + (queues.bounce(id) ? ": will be bounced" : ": not in the queue");
    }
}
