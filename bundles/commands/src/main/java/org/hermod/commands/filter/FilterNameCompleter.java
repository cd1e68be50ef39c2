package org.hermod.commands.filter;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.hermod.api.filter.FilterAdmin;

/** Completes the names of the registered filters. */
@Service
public class FilterNameCompleter implements Completer {

    @Reference
    FilterAdmin filters;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        filters.filters().forEach(f -> delegate.getStrings().add(f.name()));
        return delegate.complete(session, commandLine, candidates);
    }
}
