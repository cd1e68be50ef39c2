package org.hermod.example.filter;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.hermod.api.Envelope;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MessageData;
import org.hermod.api.filter.RouteChange;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;

/**
 * At end of data, finds the message's tenant (the route's, else by sender domain from the configuration), stamps it
 * in a header field (replacing one the client may have sent, so it cannot be forged) and puts it on the route, where
 * it travels with the message in the spool. Messages of no known tenant pass unchanged.
 */
@Component(service = DataFilter.class, configurationPid = "org.hermod.example.filter",
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {FilterProperties.NAME + "=example-tenant-stamp", "service.ranking:Integer=100"})
public class TenantStampFilter implements DataFilter {

    /** The configuration in force; one immutable object so a call never sees half an update. */
    private record Settings(Map<String, String> tenants, String header) {
    }

    private volatile Settings settings = new Settings(Map.of(), "X-Tenant");

    @Activate
    @Modified
    void configure(ExampleFilterConfig config) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String entry : config.tenants().split(",")) {
            int eq = entry.indexOf('=');
            if (eq > 0 && eq < entry.length() - 1) {
                m.put(entry.substring(0, eq).strip().toLowerCase(Locale.ROOT), entry.substring(eq + 1).strip());
            }
        }
        settings = new Settings(Map.copyOf(m), config.header().isBlank() ? "X-Tenant" : config.header().strip());
    }

    @Override
    public FilterDecision onData(SessionInfo session, Envelope envelope, Route route, MessageData message) {
        Settings s = settings;
        String tenant = route.tenant();
        for (String d = envelope.sender().domainKey(); tenant == null && d != null && !d.isEmpty();
             d = DomainBlocklistFilter.parent(d)) {
            tenant = s.tenants().get(d);
        }
        if (tenant == null) {
            return FilterDecision.proceed();
        }
        return FilterDecision.reroute(RouteChange.NONE.withTenant(tenant)).withHeaderRemoved(s.header())
                .withHeaderAdded(s.header(), tenant);
    }
}
