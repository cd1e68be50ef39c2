package org.hermod.shaping.internal;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/** A {@link ShapingConfig} for tests: the given values, the annotation's defaults for the rest. */
final class TestConfigs {

    private TestConfigs() {
    }

    static ShapingConfig shaping(String... keyValues) {
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            values.put(keyValues[i], keyValues[i + 1]);
        }
        return (ShapingConfig) Proxy.newProxyInstance(ShapingConfig.class.getClassLoader(),
                new Class<?>[] {ShapingConfig.class}, (proxy, method, args) -> {
                    Object v = values.get(method.getName());
                    if (v == null) {
                        if (method.getName().equals("annotationType")) {
                            return ShapingConfig.class;
                        }
                        if (method.getName().equals("eventLog")) {
                            return System.getProperty("java.io.tmpdir") + "/hermod-shaping-test-"
                                    + ProcessHandle.current().pid() + ".jsonl";
                        }
                        if (method.getName().equals("warmupDatabase")) { // never another test's state
                            return "memory:hermod-warmup-test-" + System.nanoTime();
                        }
                        if (method.getName().equals("warmupStateFile")) { // never another run's state
                            return System.getProperty("java.io.tmpdir") + "/hermod-warmup-test-"
                                    + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".state";
                        }
                        return method.getDefaultValue();
                    }
                    Class<?> t = method.getReturnType();
                    String s = v.toString();
                    return t == long.class ? Long.valueOf(s) : t == int.class ? Integer.valueOf(s) : s;
                });
    }
}
