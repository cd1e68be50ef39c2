package org.hermod.commands.bounce;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.hermod.api.bounce.SuppressionEntry;
import org.hermod.api.bounce.SuppressionList;

/** Completes suppressed addresses (the 1000 newest). */
@Service
public class SuppressedAddressCompleter implements Completer {

    @Reference
    SuppressionList suppression;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        for (SuppressionEntry e : suppression.list(1000)) {
            delegate.getStrings().add(e.address());
        }
        return delegate.complete(session, commandLine, candidates);
    }
}
