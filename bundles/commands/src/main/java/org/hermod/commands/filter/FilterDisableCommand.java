package org.hermod.commands.filter;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "filter-disable", description = "Takes a filter out of the chain without uninstalling it (new transactions skip it; kept across restarts)")
@Service
public class FilterDisableCommand extends FilterCommandSupport {

    @Argument(index = 0, name = "name", required = true, description = "Filter name (see filter-list)")
    @Completion(FilterNameCompleter.class)
    String name;

    @Override
    public Object execute() {
        return guarded(() -> name + (filters.disable(name) ? ": disabled" : ": was already disabled"));
    }
}
