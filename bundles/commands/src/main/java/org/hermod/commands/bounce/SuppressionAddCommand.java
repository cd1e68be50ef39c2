package org.hermod.commands.bounce;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.bounce.SuppressionList;

/** {@code hermod:suppression-add <address> [reason]}. */
@Command(scope = "hermod", name = "suppression-add", description = "Add an address to the suppression list")
@Service
public class SuppressionAddCommand implements Action {

    @Reference
    SuppressionList suppression;

    @Argument(index = 0, name = "address", required = true, description = "The address to suppress")
    String address;

    @Argument(index = 1, name = "reason", description = "Why (default: operator)")
    String reason = "operator";

    @Override
    public Object execute() {
        System.out.println(suppression.add(address, reason, "operator") ? "added " + address
                : address + " was already suppressed");
        return null;
    }
}
