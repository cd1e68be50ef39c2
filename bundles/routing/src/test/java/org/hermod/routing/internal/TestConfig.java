package org.hermod.routing.internal;

import java.lang.reflect.Proxy;
import java.util.Map;

/** A {@link RoutingConfig} with its defaults, some overridden. */
final class TestConfig {

    private TestConfig() {
    }

    static RoutingConfig routing(Map<String, Object> overrides) {
        return (RoutingConfig) Proxy.newProxyInstance(RoutingConfig.class.getClassLoader(),
                new Class<?>[] {RoutingConfig.class}, (p, m, a) -> {
                    if (m.getName().equals("annotationType")) {
                        return RoutingConfig.class;
                    }
                    Object v = overrides.get(m.getName());
                    return v != null ? v : m.getDefaultValue();
                });
    }
}
