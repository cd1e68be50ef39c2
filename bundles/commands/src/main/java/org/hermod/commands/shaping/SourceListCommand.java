package org.hermod.commands.shaping;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Pool;

@Command(scope = "hermod", name = "source-list", description = "Lists the egress sources: address, EHLO name, pools, throttled or suspended paths")
@Service
public class SourceListCommand extends ShapingCommandSupport {

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        Map<String, StringBuilder> pools = new TreeMap<>();
        for (Pool p : shaping.pools()) {
            for (Pool.Member m : p.members()) {
                StringBuilder sb = pools.computeIfAbsent(m.source(), k -> new StringBuilder());
                sb.append(sb.length() == 0 ? "" : ",").append(p.name()).append('*').append(m.weight());
            }
        }
        List<PathState> state = shaping.state();
        System.out.printf("%-16s %-40s %-32s %-24s %s%n", "SOURCE", "ADDRESS", "EHLO", "POOLS", "THROTTLED/SUSPENDED PATHS");
        for (EgressSource s : shaping.sources()) {
            long n = state.stream().filter(p -> p.path().source().equals(s.name())).count();
            System.out.printf("%-16s %-40s %-32s %-24s %d%n", s.name(), s.address() == null ? "(system)" : s.address(),
                    s.ehloName(), pools.getOrDefault(s.name(), new StringBuilder("-")), n);
        }
        return null;
    }
}
