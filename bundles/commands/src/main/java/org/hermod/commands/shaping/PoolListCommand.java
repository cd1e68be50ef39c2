package org.hermod.commands.shaping;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.shaping.Pool;

@Command(scope = "hermod", name = "pool-list", description = "Lists the source pools with their members and weights")
@Service
public class PoolListCommand extends ShapingCommandSupport {

    @Override
    public Object execute() {
        if (noShaping()) {
            return null;
        }
        System.out.printf("%-20s %s%n", "POOL", "MEMBERS (source*weight)");
        for (Pool p : shaping.pools()) {
            StringBuilder sb = new StringBuilder();
            for (Pool.Member m : p.members()) {
                sb.append(sb.length() == 0 ? "" : ", ").append(m.source()).append('*').append(m.weight());
            }
            System.out.printf("%-20s %s%n", p.name(), sb);
        }
        return null;
    }
}
