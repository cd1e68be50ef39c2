package org.hermod.commands.shaping;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.hermod.api.delivery.EgressView;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Shaping;

/** Completes sources, sites, the domains delivery has seen, and paths. */
@Service
public class TargetCompleter implements Completer {

    @Reference(optional = true)
    Shaping shaping;

    @Reference(optional = true)
    EgressView egress;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        if (shaping != null) {
            shaping.sources().forEach(s -> delegate.getStrings().add(s.name()));
        }
        if (egress != null) {
            egress.domainsBySite().forEach((site, domains) -> {
                delegate.getStrings().add(site);
                delegate.getStrings().addAll(domains);
            });
            delegate.getStrings().addAll(egress.activeByPath().keySet());
        }
        return delegate.complete(session, commandLine, candidates);
    }

    /** A domain becomes its site's key; a path's domain part likewise; sources, sites and paths stay as they are. */
    static String resolve(String target, Shaping shaping, EgressView egress) {
        if (shaping != null && shaping.sources().stream().map(EgressSource::name).anyMatch(target::equals)) {
            return target;
        }
        int arrow = target.indexOf("->");
        if (arrow > 0) {
            return target.substring(0, arrow + 2) + siteOf(target.substring(arrow + 2), egress);
        }
        return siteOf(target, egress);
    }

    private static String siteOf(String siteOrDomain, EgressView egress) {
        if (egress == null) {
            return siteOrDomain;
        }
        return egress.siteOf(siteOrDomain).map(s -> s.key()).orElse(siteOrDomain);
    }
}
