package org.hermod.itests.filters;

import java.util.Dictionary;
import java.util.Hashtable;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MessageData;
import org.hermod.api.filter.RcptFilter;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * The filter of the bundles {@link org.hermod.itests.TestFilterBundles} builds at test time (not loaded by the test
 * itself). Its bundle's headers say what it does, so one class gives every version and failure mode:
 * {@code Hermod-Test-Mode} {@code reject} (RCPT to {@code filtered*} gets 550 5.7.1 with {@code Hermod-Test-Reply}),
 * {@code throw} (end of data throws), {@code sleep} (RCPT to {@code slow*} sleeps 20 s, ignoring interruption).
 */
public class TestFilter implements BundleActivator, RcptFilter, DataFilter {

    private volatile String reply = "filtered";
    private volatile String mode = "reject";

    @Override
    public void start(BundleContext ctx) {
        Dictionary<String, String> h = ctx.getBundle().getHeaders();
        reply = h.get("Hermod-Test-Reply");
        mode = h.get("Hermod-Test-Mode");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(FilterProperties.NAME, h.get("Hermod-Test-Name"));
        props.put("service.ranking", 500);
        if (h.get("Hermod-Test-Timeout") != null) {
            props.put(FilterProperties.TIMEOUT_MILLIS, Long.parseLong(h.get("Hermod-Test-Timeout")));
        }
        String service = mode.equals("throw") ? DataFilter.class.getName() : RcptFilter.class.getName();
        ctx.registerService(service, this, props);
    }

    @Override
    public void stop(BundleContext ctx) {
        // the framework unregisters the service
    }

    @Override
    public FilterDecision onRcpt(SessionInfo session, MailAddress sender, Recipient recipient) {
        String local = recipient.address().localPart();
        if (mode.equals("sleep") && local.startsWith("slow")) {
            long end = System.currentTimeMillis() + 20_000;
            while (System.currentTimeMillis() < end) {
                try {
                    Thread.sleep(end - System.currentTimeMillis());
                } catch (InterruptedException e) {
                    // a badly written filter: ignores the interruption and sleeps on
                }
            }
        }
        if (mode.equals("reject") && local.startsWith("filtered")) {
            return FilterDecision.reject(550, "5.7.1", reply);
        }
        return FilterDecision.proceed();
    }

    @Override
    public FilterDecision onData(SessionInfo session, Envelope envelope, Route route, MessageData message) {
        throw new IllegalStateException("test filter failing on purpose");
    }
}
