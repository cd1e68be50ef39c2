package org.hermod.commands.queue;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.hermod.api.spool.DomainSummary;
import org.hermod.api.spool.QueueManager;

/** Completes destination domains that have queued mail or are suspended. */
@Service
public class DomainCompleter implements Completer {

    @Reference
    QueueManager queues;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        for (DomainSummary s : queues.summaries()) {
            delegate.getStrings().add(s.domain());
        }
        delegate.getStrings().addAll(queues.suspended());
        return delegate.complete(session, commandLine, candidates);
    }
}
