package org.hermod.commands.shaping;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "shaping-suspend", description = "Holds a path (source->site), a site (every source) or a source (every site): no new connections; mail stays queued")
@Service
public class ShapingSuspendCommand extends ShapingCommandSupport {

    @Argument(index = 0, name = "target", required = true, description = "source->site, a site, a domain (its site), or a source")
    @Completion(TargetCompleter.class)
    String target;

    @Option(name = "--for", description = "How long (e.g. 30m, 2h, 1d)")
    String duration = "1h";

    @Option(name = "--reason", description = "Why (shown in shaping-show and the event log)")
    String reason = "operator";

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        String t = TargetCompleter.resolve(target, shaping, egress);
        ShapingCommandSupport.print(shaping.suspend(t, parseDuration(duration), reason));
        return null;
    }
}
