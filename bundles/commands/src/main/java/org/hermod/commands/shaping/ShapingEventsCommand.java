package org.hermod.commands.shaping;

import java.util.List;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.shaping.ShapingEvent;

@Command(scope = "hermod", name = "shaping-events", description = "Shows the latest automatic and operator changes of limits, newest first, with the rule and the replies that caused them")
@Service
public class ShapingEventsCommand extends ShapingCommandSupport {

    @Option(name = "--site", description = "Only this site (an MX host set, or a domain's site)")
    @Completion(TargetCompleter.class)
    String site;

    @Option(name = "--source", description = "Only this source")
    @Completion(TargetCompleter.class)
    String source;

    @Option(name = "-n", aliases = "--limit", description = "At most this many events")
    int limit = 50;

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        String siteKey = site;
        if (site != null && egress != null) {
            siteKey = egress.siteOf(site).map(s -> s.key()).orElse(site);
        }
        List<ShapingEvent> events = shaping.events(siteKey, source, limit);
        if (events.isEmpty()) {
            System.out.println("No shaping events.");
            return null;
        }
        events.forEach(ShapingCommandSupport::print);
        return null;
    }
}
