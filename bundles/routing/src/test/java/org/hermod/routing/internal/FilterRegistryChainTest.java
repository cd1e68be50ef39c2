package org.hermod.routing.internal;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import org.hermod.api.filter.ConnectFilter;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterChainContract;
import org.hermod.api.filter.MailFilter;
import org.hermod.api.filter.PreDeliveryFilter;
import org.hermod.api.filter.RcptFilter;
import org.junit.After;

/** The routing bundle's chain against the API's contract, bound the way the whiteboard binds services. */
public class FilterRegistryChainTest extends FilterChainContract {

    private FilterRegistry registry;

    @Override
    protected FilterChain chain(List<Registered> filters) throws Exception {
        if (registry != null) {
            registry.deactivate();
        }
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), Files.createTempDirectory("routing"));
        for (Registered r : filters) {
            bindAll(registry, r.filter(), r.properties());
        }
        return registry.current();
    }

    static void bindAll(FilterRegistry registry, Object f, Map<String, ?> props) {
        if (f instanceof ConnectFilter) {
            registry.bind(FilterChain.Stage.CONNECT, props, null, f);
        }
        if (f instanceof MailFilter) {
            registry.bind(FilterChain.Stage.MAIL, props, null, f);
        }
        if (f instanceof RcptFilter) {
            registry.bind(FilterChain.Stage.RCPT, props, null, f);
        }
        if (f instanceof DataFilter) {
            registry.bind(FilterChain.Stage.DATA, props, null, f);
        }
        if (f instanceof PreDeliveryFilter) {
            registry.bind(FilterChain.Stage.PRE_DELIVERY, props, null, f);
        }
    }

    @After
    public void stop() {
        if (registry != null) {
            registry.deactivate();
        }
    }
}
