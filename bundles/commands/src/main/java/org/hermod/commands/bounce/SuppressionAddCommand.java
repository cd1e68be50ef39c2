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
        String problem = problem(address);
        if (problem != null) {
            System.out.println("not added: " + problem);
            return null;
        }
        System.out.println(suppression.add(address, reason, "operator") ? "added " + address
                : address + " was already suppressed");
        return null;
    }

    /** Why the address cannot be suppressed, or null when it is acceptable. */
    static String problem(String address) {
        String a = address == null ? "" : address.strip();
        if (a.startsWith("<") && a.endsWith(">")) {
            a = a.substring(1, a.length() - 1).strip();
        }
        if (a.isEmpty()) {
            return "the null sender <> cannot be suppressed";
        }
        if (a.length() > 254) {
            return "address longer than 254 characters";
        }
        int at = a.lastIndexOf('@');
        if (at <= 0 || at == a.length() - 1) {
            return "not an address (local@domain): " + a;
        }
        if (a.chars().anyMatch(ch -> ch <= ' ' || ch == '<' || ch == '>')) {
            return "address contains blanks, control characters or angle brackets: " + a;
        }
        return null;
    }
}
