package org.hermod.commands.shaping;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.shaping.WarmupStatus;

@Command(scope = "hermod", name = "warmup-show", description = "Shows the IP warmup of each source with a plan, per provider (or site): the plan's day, today's cap and count, the hourly cap, and whether advancement to the next day is held back and why")
@Service
public class WarmupShowCommand extends ShapingCommandSupport {

    @Argument(index = 0, name = "source", required = false, description = "Only this source; every source with a warmup plan when left out")
    @Completion(TargetCompleter.class)
    String source;

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        List<WarmupStatus> all = shaping.warmup(source);
        if (all.isEmpty()) {
            System.out.println(source == null
                    ? "No source is warming up (warmup lines in etc/hermod-shaping.rules; a plan shows here once the"
                            + " source has sent to a provider)."
                    : "Source " + source + " is not warming up (no warmup line for it, or it has sent nothing yet).");
            return null;
        }
        System.out.printf("%-16s %-28s %-9s %-14s %-20s %-10s %-14s %s%n", "SOURCE", "PROVIDER/SITE", "DAY", "CURVE",
                "TODAY/CAP", "DELIVERED", "HOUR/CAP", "STATE");
        for (WarmupStatus w : all) {
            String day = w.warm() ? w.curveDays() + "+" : w.day() + "/" + w.curveDays();
            String today = w.warm() ? w.sentToday() + "/-" : w.sentToday() + "/" + w.dailyCap();
            String hour = w.hourlyCap() == 0 ? "-" : w.sentThisHour() + "/" + w.hourlyCap();
            String state = w.warm() ? "warm (curve done)" : w.capReached() ? "cap reached: overflowing" : "sending";
            if (w.heldBack() != null) {
                state += "; HELD BACK";
            }
            System.out.printf("%-16s %-28s %-9s %-14s %-20s %-10d %-14s %s%n", w.source(), w.target(), day, w.curve(),
                    today, w.deliveredToday(), hour, state);
            if (w.heldBack() != null) {
                System.out.println("    held back: " + w.heldBack()
                        + (w.heldUntil() == null ? "" : " (signal counts until " + w.heldUntil() + ", " + when(w.heldUntil()) + ")"));
            }
            System.out.println("    plan: " + w.rule());
        }
        return null;
    }
}
