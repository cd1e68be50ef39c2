package org.hermod.commands.shaping;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "hermod", name = "shaping-resume", description = "Lifts the suspension of a path, a site or a source")
@Service
public class ShapingResumeCommand extends ShapingCommandSupport {

    @Argument(index = 0, name = "target", required = true, description = "source->site, a site, a domain (its site), or a source")
    @Completion(TargetCompleter.class)
    String target;

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        String t = TargetCompleter.resolve(target, shaping, egress);
        shaping.resume(t).ifPresentOrElse(ShapingCommandSupport::print,
                () -> System.out.println(t + " was not suspended."));
        return null;
    }
}
