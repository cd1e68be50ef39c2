package org.hermod.commands.queue;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Service;

/** Completes the ids of held messages (the oldest 500). */
@Service
public class HeldIdCompleter extends QueueIdCompleter {

    @Override
    protected List<String> ids() {
        return queues.held(500);
    }
}
