package org.hermod.commands.bounce;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.bounce.SuppressionEntry;
import org.hermod.api.bounce.SuppressionList;

/** {@code hermod:suppression-list [--limit N]}. */
@Command(scope = "hermod", name = "suppression-list", description = "List suppressed addresses, newest first")
@Service
public class SuppressionListCommand implements Action {

    @Reference
    SuppressionList suppression;

    @Option(name = "--limit", aliases = "-n", description = "At most this many entries (default 100)")
    int limit = 100;

    @Override
    public Object execute() {
        for (SuppressionEntry e : suppression.list(limit)) {
            System.out.println(e.created() + "  " + e.address() + "  " + e.reason()
                    + (e.source() == null ? "" : "  (" + e.source() + ")"));
        }
        System.out.println(suppression.size() + " suppressed address(es)");
        return null;
    }
}
