package org.hermod.commands.filter;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "filter-enable", description = "Puts a disabled filter back into the chain")
@Service
public class FilterEnableCommand extends FilterCommandSupport {

    @Argument(index = 0, name = "name", required = true, description = "Filter name (see filter-list)")
    @Completion(FilterNameCompleter.class)
    String name;

    @Override
    public Object execute() {
        return guarded(() -> name + (filters.enable(name) ? ": enabled" : ": was not disabled"));
    }
}
