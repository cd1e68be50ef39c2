package org.hermod.smtp.internal;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/** An {@link SmtpServerConfig} with the annotation's defaults, overridden by name: tests state only what they change. */
final class TestConfig {

    private TestConfig() {
    }

    static SmtpServerConfig smtp(Object... keyValues) {
        Map<String, Object> m = new HashMap<>();
        m.put("filtersRequired", false); // unit tests run without the routing bundle unless they say otherwise
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return (SmtpServerConfig) Proxy.newProxyInstance(SmtpServerConfig.class.getClassLoader(),
                new Class<?>[] {SmtpServerConfig.class}, (proxy, method, args) -> {
                    if (method.getDeclaringClass() == Object.class) {
                        return method.getName().equals("toString") ? "TestConfig" + m : null;
                    }
                    Object v = m.get(method.getName());
                    return v != null ? v : method.getDefaultValue();
                });
    }

    /** Settings as the tests used to build them by hand. */
    static SmtpSettings settings(Object... keyValues) {
        return SmtpSettings.from(smtp(keyValues));
    }
}
