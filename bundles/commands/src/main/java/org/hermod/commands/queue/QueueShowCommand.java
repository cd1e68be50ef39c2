package org.hermod.commands.queue;

import java.util.Optional;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.spool.MessageInfo;

@Command(scope = "hermod", name = "queue-show", description = "Shows one queued message: envelope, size, per-recipient state, headers")
@Service
public class QueueShowCommand extends QueueCommandSupport {

    @Argument(index = 0, name = "id", description = "Queue id", required = true)
    @Completion(QueueIdCompleter.class)
    String id;

    @Override
    public Object execute() {
        Optional<MessageInfo> m = queues.message(id);
        if (m.isEmpty()) {
            System.out.println("No message " + id + " in the queue.");
            return null;
        }
        MessageInfo i = m.get();
        System.out.println("Queue id:    " + i.queueId());
        System.out.println("Sender:      <" + i.envelope().sender() + ">");
        System.out.println("Arrival:     " + i.envelope().receivedAt() + " (" + age(i.envelope().receivedAt()) + " ago)");
        System.out.println("Size:        " + i.size() + " bytes");
        System.out.println("Client:      " + i.envelope().heloName() + " [" + i.envelope().clientAddress() + "]");
        System.out.println("Body:        " + i.envelope().body().keyword() + (i.envelope().smtpUtf8() ? ", SMTPUTF8" : ""));
        if (i.envelope().envId() != null || i.envelope().ret() != null) {
            System.out.println("DSN:         ENVID=" + i.envelope().envId() + " RET=" + i.envelope().ret());
        }
        System.out.println("Recipients:");
        for (MessageInfo.RecipientState r : i.recipients()) {
            System.out.printf("  %-40s %-9s attempts=%d next=%s%s%n", "<" + r.address() + ">", r.state(), r.attempts(),
                    until(r.nextAttempt()), r.lastReply() == null ? "" : " last: " + r.lastReply());
        }
        System.out.println("Headers:");
        System.out.print(i.headers());
        return null;
    }
}
