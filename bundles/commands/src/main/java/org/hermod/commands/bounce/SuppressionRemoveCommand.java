package org.hermod.commands.bounce;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.bounce.SuppressionList;

/** {@code hermod:suppression-remove <address>}, with tab completion of suppressed addresses. */
@Command(scope = "hermod", name = "suppression-remove", description = "Remove an address from the suppression list")
@Service
public class SuppressionRemoveCommand implements Action {

    @Reference
    SuppressionList suppression;

    @Argument(index = 0, name = "address", required = true, description = "The address to remove")
    @Completion(SuppressedAddressCompleter.class)
    String address;

    @Override
    public Object execute() {
        System.out.println(suppression.remove(address) ? "removed " + address : address + " was not suppressed");
        return null;
    }
}
