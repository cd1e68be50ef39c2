package org.hermod.example.filter;

import java.util.Map;
import java.util.Set;

import org.hermod.api.MailAddress;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MailFilter;
import org.hermod.api.filter.SessionInfo;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;

/**
 * Refuses senders whose domain (or a parent domain) is listed in {@code blockedSenders}, at MAIL FROM with
 * 550 5.7.1 (the null sender of bounces is never refused). The MAIL-stage counterpart of {@link DomainBlocklistFilter}.
 */
@Component(service = MailFilter.class, configurationPid = "org.hermod.example.filter",
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {FilterProperties.NAME + "=example-sender-check", "service.ranking:Integer=100",
            FilterProperties.TIMEOUT_MILLIS + ":Long=500"})
public class SenderBlocklistFilter implements MailFilter {

    private volatile Set<String> blocked = Set.of();

    @Activate
    @Modified
    void configure(ExampleFilterConfig config) {
        blocked = DomainBlocklistFilter.parse(config.blockedSenders());
    }

    @Override
    public FilterDecision onMail(SessionInfo session, MailAddress sender, Map<String, String> parameters) {
        if (sender.isNullSender()) {
            return FilterDecision.proceed();
        }
        String domain = sender.domainKey();
        for (String d = domain; d != null; d = DomainBlocklistFilter.parent(d)) {
            if (blocked.contains(d)) {
                return FilterDecision.reject(550, "5.7.1", "Sender domain " + domain + " is not accepted here");
            }
        }
        return FilterDecision.proceed();
    }
}
