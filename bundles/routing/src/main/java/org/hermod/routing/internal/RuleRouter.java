package org.hermod.routing.internal;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.ConnectFilter;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MailFilter;
import org.hermod.api.filter.MessageData;
import org.hermod.api.filter.RcptFilter;
import org.hermod.api.filter.RouteTester;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in rule router, the first filter Hermod ships: the rules of {@code etc/hermod-routing.rules} (live
 * reloaded by {@link RulesWatcher}) as a filter named {@code router}. It registers itself only under the stage
 * interfaces its rules use, so stages without rules cost nothing (the chain skips them), and re-registers when a
 * reload changes that set. Also the {@link RouteTester} behind {@code hermod:route-test}.
 */
@Component(service = RouteTester.class, configurationPid = "org.hermod.routing",
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
public final class RuleRouter implements ConnectFilter, MailFilter, RcptFilter, DataFilter, RouteTester {

    private static final Logger LOG = LoggerFactory.getLogger(RuleRouter.class);
    static final String NAME = "router";

    private final RulesWatcher watcher;
    private BundleContext context;
    private int ranking;
    private ServiceRegistration<?> registration;
    private Set<Stage> registered = Set.of();

    @Activate
    public RuleRouter(BundleContext context, RoutingConfig config) {
        this.context = context;
        this.ranking = config.routerRanking();
        this.watcher = new RulesWatcher(context, this::rulesChanged);
        watcher.configure(config);
    }

    /** For tests: rules given, not registered anywhere. */
    RuleRouter(RulesWatcher watcher) {
        this.watcher = watcher;
    }

    @Modified
    void modified(RoutingConfig config) {
        synchronized (this) {
            if (config.routerRanking() != ranking) {
                ranking = config.routerRanking();
                registered = Set.of(); // forces a new registration with the new ranking
            }
        }
        watcher.configure(config);
        rulesChanged(watcher.rules());
    }

    @Deactivate
    void deactivate() {
        watcher.close();
        synchronized (this) {
            unregister();
            context = null;
        }
    }

    private synchronized void rulesChanged(RoutingRules rules) {
        if (context == null) {
            return;
        }
        Set<Stage> stages = rules.stages();
        if (stages.equals(registered) && registration != null) {
            return;
        }
        // The new registration comes first and the old one goes after it: unregistering first left a moment with
        // no router at all, when mail passed unrouted. The short overlap is harmless: a transaction takes one chain
        // snapshot, which holds one registration or the other (both carry the same object and name), never both.
        ServiceRegistration<?> old = registration;
        registration = null;
        registered = stages;
        if (stages.isEmpty()) {
            unregister(old);
            return;
        }
        List<String> classes = new ArrayList<>();
        stages.forEach(s -> classes.add(switch (s) {
            case CONNECT -> ConnectFilter.class.getName();
            case MAIL -> MailFilter.class.getName();
            case RCPT -> RcptFilter.class.getName();
            case DATA -> DataFilter.class.getName();
            default -> throw new IllegalStateException("no rules at " + s);
        }));
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(FilterProperties.NAME, NAME);
        props.put(Constants.SERVICE_RANKING, ranking);
        props.put(Constants.SERVICE_DESCRIPTION, "Hermod rule router (" + rules.source() + ")");
        registration = context.registerService(classes.toArray(new String[0]), this, props);
        unregister(old);
        LOG.info("rule router serves {}", stages);
    }

    private void unregister() {
        unregister(registration);
        registration = null;
    }

    private static void unregister(ServiceRegistration<?> r) {
        if (r != null) {
            try {
                r.unregister();
            } catch (IllegalStateException gone) {
                // already unregistered with the bundle
            }
        }
    }

    // --- the filter -----------------------------------------------------------------------------------------------

    @Override
    public FilterDecision onConnect(SessionInfo s) {
        return watcher.rules().evaluate(Stage.CONNECT, new Facts(s.clientAddress(), s.authUser(), null, null, null,
                -1), null, null);
    }

    @Override
    public FilterDecision onMail(SessionInfo s, MailAddress sender, Map<String, String> parameters) {
        return watcher.rules().evaluate(Stage.MAIL, new Facts(s.clientAddress(), s.authUser(), sender, null, null,
                declaredSize(parameters)), null, null);
    }

    @Override
    public FilterDecision onRcpt(SessionInfo s, MailAddress sender, Recipient recipient) {
        return watcher.rules().evaluate(Stage.RCPT, new Facts(s.clientAddress(), s.authUser(), sender,
                List.of(recipient.address()), null, -1), null, null);
    }

    @Override
    public FilterDecision onData(SessionInfo s, Envelope envelope, Route route, MessageData message) {
        return watcher.rules().evaluate(Stage.DATA, new Facts(s.clientAddress(), s.authUser(), envelope.sender(),
                envelope.recipients().stream().map(Recipient::address).toList(), message.headers(), message.size()),
                null, null);
    }

    private static long declaredSize(Map<String, String> parameters) {
        String v = parameters == null ? null : parameters.get("SIZE");
        try {
            return v == null ? -1 : Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    // --- route-test -----------------------------------------------------------------------------------------------

    @Override
    public Result test(Query q) {
        RoutingRules rules = watcher.rules();
        List<Match> trace = new ArrayList<>();
        MailAddress from = MailAddress.parse(q.from() == null ? "" : q.from());
        FilterDecision d = rules.evaluate(Stage.CONNECT, new Facts(q.client(), q.user(), null, null, null, -1), null,
                trace);
        FilterDecision total = d;
        if (!d.isFinal()) {
            d = rules.evaluate(Stage.MAIL, new Facts(q.client(), q.user(), from, null, null, q.size()), null, trace);
            total = ChainSnapshot.actionOf(d).withRoute(total.route().then(d.route()));
        }
        List<MailAddress> accepted = new ArrayList<>();
        if (!total.isFinal()) {
            FilterDecision lastRefusal = null;
            for (String to : q.to()) {
                MailAddress rcpt = MailAddress.parse(to);
                FilterDecision r = rules.evaluate(Stage.RCPT, new Facts(q.client(), q.user(), from, List.of(rcpt),
                        null, -1), to, trace);
                if (r.action() == FilterDecision.Action.REJECT || r.action() == FilterDecision.Action.DEFER) {
                    lastRefusal = r;
                } else {
                    accepted.add(rcpt);
                    total = total.withRoute(r.route());
                }
            }
            if (accepted.isEmpty() && lastRefusal != null) {
                total = ChainSnapshot.actionOf(lastRefusal).withRoute(total.route());
            }
        }
        List<org.hermod.api.filter.HeaderField> added = List.of();
        if (!total.isFinal()) {
            long size = q.size() >= 0 ? q.size() : 0;
            d = rules.evaluate(Stage.DATA, new Facts(q.client(), q.user(), from, accepted, q.headers(), size), null,
                    trace);
            added = d.headersAdded();
            total = ChainSnapshot.actionOf(d).withRoute(total.route().then(d.route()));
        }
        return new Result(rules.source(), trace, total.action(), total.reply(), total.holdReason(),
                total.route().applyTo(Route.DEFAULT), added);
    }
}
