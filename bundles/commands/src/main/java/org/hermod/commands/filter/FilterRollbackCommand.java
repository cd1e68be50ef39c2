package org.hermod.commands.filter;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.filter.FilterAdmin.Rollback;

@Command(scope = "hermod", name = "filter-rollback", description = "Returns a filter's bundle to the version installed before the current one (again: one further back); new transactions use it at once")
@Service
public class FilterRollbackCommand extends FilterCommandSupport {

    @Argument(index = 0, name = "name", required = true, description = "Filter name (see filter-list)")
    @Completion(FilterNameCompleter.class)
    String name;

    @Override
    public Object execute() {
        return guarded(() -> {
            Rollback r = filters.rollback(name);
            return r.name() + ": bundle " + r.bundle() + " rolled back from " + r.from() + " to " + r.to();
        });
    }
}
