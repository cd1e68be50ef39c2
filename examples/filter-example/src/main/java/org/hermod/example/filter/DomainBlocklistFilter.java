package org.hermod.example.filter;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.RcptFilter;
import org.hermod.api.filter.SessionInfo;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;

/**
 * Refuses recipients whose domain (or a parent domain) is on the blocklist, with 550 5.7.1. Runs at RCPT on a filter
 * thread; the list is an immutable set swapped on configuration change, so calls never wait.
 */
@Component(service = RcptFilter.class, configurationPid = "org.hermod.example.filter",
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {FilterProperties.NAME + "=example-blocklist", "service.ranking:Integer=100",
            FilterProperties.TIMEOUT_MILLIS + ":Long=500"})
@Designate(ocd = ExampleFilterConfig.class)
public class DomainBlocklistFilter implements RcptFilter {

    private volatile Set<String> blocked = Set.of();

    @Activate
    @Modified
    void configure(ExampleFilterConfig config) {
        blocked = parse(config.blockedDomains());
    }

    static Set<String> parse(String list) {
        Set<String> s = new TreeSet<>();
        for (String d : list.split(",")) {
            if (!d.isBlank()) {
                s.add(d.strip().toLowerCase(Locale.ROOT));
            }
        }
        return Set.copyOf(s);
    }

    @Override
    public FilterDecision onRcpt(SessionInfo session, MailAddress sender, Recipient recipient) {
        String domain = recipient.address().domainKey();
        for (String d = domain; d != null; d = parent(d)) {
            if (blocked.contains(d)) {
                return FilterDecision.reject(550, "5.7.1", "Recipient domain " + domain + " is not accepted here");
            }
        }
        return FilterDecision.proceed();
    }

    /** {@code a.b.c} -> {@code b.c}; null after the last label. */
    static String parent(String domain) {
        int dot = domain.indexOf('.');
        return dot < 0 ? null : domain.substring(dot + 1);
    }
}
