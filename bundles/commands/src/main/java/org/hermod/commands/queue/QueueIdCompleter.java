package org.hermod.commands.queue;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.hermod.api.spool.QueueManager;

/** Completes queue ids (the oldest 500). */
@Service
public class QueueIdCompleter implements Completer {

    @Reference
    protected QueueManager queues;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        delegate.getStrings().addAll(ids());
        return delegate.complete(session, commandLine, candidates);
    }

    /** The ids offered. */
    protected List<String> ids() {
        return queues.queueIds(null, 500);
    }
}
