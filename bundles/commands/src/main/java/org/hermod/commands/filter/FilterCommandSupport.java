package org.hermod.commands.filter;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.hermod.api.filter.FilterAdmin;

/** Shared base of the filter commands: the routing bundle's admin service. Output goes to System.out (shows over ssh exec). */
public abstract class FilterCommandSupport implements Action {

    @Reference
    protected FilterAdmin filters;

    /** Runs an admin call, printing its refusal (unknown name, nothing to roll back to) instead of a stack trace. */
    protected Object guarded(java.util.concurrent.Callable<String> call) {
        try {
            System.out.println(call.call());
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.out.println("Error: " + e.getMessage());
        } catch (Exception e) {
            System.out.println("Error: " + e);
        }
        return null;
    }
}
