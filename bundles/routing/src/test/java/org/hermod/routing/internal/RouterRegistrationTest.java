package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** The router re-registers without a gap: the new registration exists before the old one goes. */
public class RouterRegistrationTest {

    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger live = new AtomicInteger();
    private final AtomicInteger minLiveAfterFirst = new AtomicInteger(Integer.MAX_VALUE);

    private BundleContext context() {
        AtomicInteger ids = new AtomicInteger();
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (p, m, a) -> switch (m.getName()) {
                    case "registerService" -> {
                        int id = ids.incrementAndGet();
                        events.add("register " + id + " " + String.join(",", (String[]) a[0]));
                        live.incrementAndGet();
                        yield Proxy.newProxyInstance(getClass().getClassLoader(),
                                new Class<?>[] {ServiceRegistration.class}, (p2, m2, a2) -> {
                                    if (m2.getName().equals("unregister")) {
                                        events.add("unregister " + id);
                                        minLiveAfterFirst.accumulateAndGet(live.decrementAndGet(), Math::min);
                                    }
                                    return null;
                                });
                    }
                    case "getProperty" -> null;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    public void aChangedStageSetOrRankingRegistersTheNewServiceBeforeUnregisteringTheOld() throws Exception {
        Path f = Files.createTempFile("routing", ".rules");
        Files.writeString(f, "rcpt to-domain=a.test -> reject\n");
        RuleRouter router = new RuleRouter(context(), TestConfig.routing(Map.of("rulesFile", f.toString(),
                "rulesPollMillis", 100L)));
        try {
            assertEquals(List.of("register 1 org.hermod.api.filter.RcptFilter"), events);
            // another ranking: re-registered
            router.modified(TestConfig.routing(Map.of("rulesFile", f.toString(), "rulesPollMillis", 100L,
                    "routerRanking", 5)));
            // rules using another stage set: re-registered on reload
            Files.writeString(f, "mail from-domain=b.test -> reject\nrcpt to-domain=a.test -> reject\n");
            Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 5000));
            long until = System.currentTimeMillis() + 5000;
            while (events.size() < 6 && System.currentTimeMillis() < until) {
                Thread.sleep(20);
            }
            assertEquals(List.of("register 1 org.hermod.api.filter.RcptFilter",
                    "register 2 org.hermod.api.filter.RcptFilter", "unregister 1",
                    "register 3 org.hermod.api.filter.MailFilter,org.hermod.api.filter.RcptFilter", "unregister 2"),
                    events.subList(0, 5));
            assertEquals("the router was never absent", 1, minLiveAfterFirst.get());
        } finally {
            router.deactivate();
        }
        assertEquals("unregister 3", events.get(events.size() - 1));
    }
}
