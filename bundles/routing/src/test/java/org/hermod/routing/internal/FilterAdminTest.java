package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterAdmin;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.RcptFilter;
import org.hermod.api.filter.SessionInfo;
import org.junit.After;
import org.junit.Test;

/** The registry as the console sees it: listing, disable/enable (persisted), counters, snapshots. */
public class FilterAdminTest {

    private static final SessionInfo S = SessionInfo.local("t");
    private static final MailAddress FROM = MailAddress.parse("a@x.test");
    private static final Recipient TO = Recipient.of(MailAddress.parse("b@y.test"));
    private FilterRegistry registry;

    @After
    public void stop() {
        if (registry != null) {
            registry.deactivate();
        }
    }

    private static Map<String, Object> props(long id, String name, int ranking) {
        return Map.of("service.id", id, "service.ranking", ranking, FilterProperties.NAME, name);
    }

    private static FilterDecision rcpt(FilterChain c) throws Exception {
        return c.rcpt(S, FROM, TO).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    public void aReRegisteredFilterOverlappingItsOldRegistrationIsCalledOnce() throws Exception {
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), Files.createTempDirectory("routing"));
        org.osgi.framework.Bundle bundle = (org.osgi.framework.Bundle) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {org.osgi.framework.Bundle.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getBundleId" -> 7L;
                    case "getSymbolicName" -> "org.hermod.routing";
                    case "getVersion" -> org.osgi.framework.Version.parseVersion("0.2.0");
                    case "equals" -> p == a[0];
                    case "hashCode" -> 7;
                    default -> null;
                });
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        RcptFilter counting = (s, f, r) -> {
            calls.incrementAndGet();
            return FilterDecision.proceed();
        };
        registry.bind(FilterChain.Stage.RCPT, props(1, "router", 5), bundle, counting);
        registry.bind(FilterChain.Stage.RCPT, props(2, "router", 5), bundle, counting); // the new one, before unbind
        registry.bind(FilterChain.Stage.RCPT, props(3, "other", 5), null, counting);
        rcpt(registry.current());
        assertEquals("router once, other once", 2, calls.get());
        registry.unbind(FilterChain.Stage.RCPT, 1);
        rcpt(registry.current());
        assertEquals(4, calls.get());
    }

    @Test
    public void disableTakesAFilterOutOfNewChainsAndSurvivesARestart() throws Exception {
        Path data = Files.createTempDirectory("routing");
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), data);
        RcptFilter reject = (s, f, r) -> FilterDecision.reject(550, "5.7.1", "no");
        registry.bind(FilterChain.Stage.RCPT, props(1, "blocker", 5), null, reject);
        FilterChain before = registry.current();
        assertEquals(FilterDecision.Action.REJECT, rcpt(before).action());

        assertTrue(registry.disable("blocker"));
        assertFalse("already disabled", registry.disable("blocker"));
        FilterChain after = registry.current();
        assertFalse(after.has(FilterChain.Stage.RCPT));
        assertEquals("a transaction keeps the chain it started with", FilterDecision.Action.REJECT,
                rcpt(before).action());
        FilterAdmin.FilterInfo info = registry.filters().get(0);
        assertEquals("blocker", info.name());
        assertFalse(info.enabled());

        registry.deactivate();
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), data);
        registry.bind(FilterChain.Stage.RCPT, props(2, "blocker", 5), null, reject);
        assertFalse("disabled across a restart", registry.current().has(FilterChain.Stage.RCPT));
        assertTrue(registry.enable("blocker"));
        assertEquals(FilterDecision.Action.REJECT, rcpt(registry.current()).action());
        try {
            registry.disable("nosuch");
            fail("unknown name accepted");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("nosuch"));
        }
    }

    @Test
    public void countersCountCallsDecisionsErrorsTimeoutsAndLatency() throws Exception {
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), Files.createTempDirectory("routing"));
        int[] n = {0};
        registry.bind(FilterChain.Stage.RCPT, Map.of("service.id", 7L, FilterProperties.NAME, "mixed",
                FilterProperties.TIMEOUT_MILLIS, 100), null, (RcptFilter) (s, f, r) -> {
                    int i = n[0]++;
                    if (i == 0) {
                        throw new IllegalStateException("first call fails");
                    }
                    if (i == 1) {
                        Thread.sleep(5000);
                    }
                    if (i == 2) {
                        Thread.sleep(20);
                    }
                    return i % 2 == 0 ? FilterDecision.proceed() : FilterDecision.defer(451, "4.7.1", "later");
                });
        for (int i = 0; i < 5; i++) {
            rcpt(registry.current());
        }
        FilterAdmin.FilterCounters c = registry.filters().get(0).counters();
        assertEquals(5, c.calls());
        assertEquals(1, c.errors());
        assertEquals(1, c.timeouts());
        // decisions: the error and timeout as DEFER, then CONTINUE (2), DEFER (3), CONTINUE (4)
        assertEquals(3L, c.decisions().get(FilterDecision.Action.DEFER).longValue());
        assertEquals(2L, c.decisions().get(FilterDecision.Action.CONTINUE).longValue());
        assertTrue("p99 " + c.p99Millis(), c.p99Millis() >= 100 && c.p99Millis() < 200);
        assertTrue("mean " + c.meanMillis(), c.meanMillis() >= 24 && c.meanMillis() < 100);
    }

    @Test
    public void histogramBucketsAreOrderedAndBoundTheirValues() {
        for (long us = 1; us < (1L << 32); us = us * 3 / 2 + 1) { // up to the last bucket (about 70 min)
            int b = LatencyHistogram.bucket(us);
            assertTrue(us + " in bucket " + b, LatencyHistogram.upperMicros(b) >= us);
            assertTrue(LatencyHistogram.upperMicros(b) <= us * 1.5 + 1);
        }
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < 99; i++) {
            h.record(1_000_000); // 1 ms
        }
        h.record(500_000_000); // one of 500 ms
        assertTrue(h.percentileMillis(0.99) < 1.3);
        assertTrue(h.percentileMillis(1.0) >= 500);
    }

    @Test
    public void rankingDecidesOrderAndAPropertyChangeReorders() throws Exception {
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), Files.createTempDirectory("routing"));
        registry.bind(FilterChain.Stage.RCPT, props(1, "a", 1), null,
                (RcptFilter) (s, f, r) -> FilterDecision.reject(550, "5.7.1", "a"));
        registry.bind(FilterChain.Stage.RCPT, props(2, "b", 2), null,
                (RcptFilter) (s, f, r) -> FilterDecision.reject(550, "5.7.1", "b"));
        assertEquals("b", rcpt(registry.current()).reply().text());
        registry.updated(props(1, "a", 3), null);
        assertEquals("a", rcpt(registry.current()).reply().text());
        assertEquals(List.of("a", "b"), registry.filters().stream().map(FilterAdmin.FilterInfo::name).toList());
        registry.unbind(FilterChain.Stage.RCPT, 1);
        assertEquals("b", rcpt(registry.current()).reply().text());
    }

    @Test
    public void aConfigurationChangeResizesThePoolAndSetsTheBudgetOfFiltersBoundLater() throws Exception {
        registry = new FilterRegistry(null, TestConfig.routing(Map.of()), Files.createTempDirectory("routing"));
        registry.modified(TestConfig.routing(Map.of("filterThreads", 1, "filterMaxThreads", 2,
                "defaultTimeoutMillis", 300L)));
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        registry.bind(FilterChain.Stage.MAIL, Map.of("service.id", 1L, FilterProperties.NAME, "blocking"), null,
                (org.hermod.api.filter.MailFilter) (s, f, p) -> {
                    release.await();
                    return FilterDecision.proceed();
                });
        try {
            long t0 = System.nanoTime();
            var a = registry.current().mail(S, FROM, Map.of());
            var b = registry.current().mail(S, FROM, Map.of());
            FilterDecision second = b.toCompletableFuture().get(5, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(FilterDecision.Action.DEFER, second.action());
            assertTrue("of a 2-thread pool one filter may hold 1; the second call waited its new 300 ms budget: "
                    + ms + " ms", ms >= 250 && ms < 2000);
            assertEquals(FilterDecision.Action.DEFER, a.toCompletableFuture().get(5, TimeUnit.SECONDS).action());
            assertTrue("no more than 2 filter threads", registry.runner().activeThreads() <= 2);
        } finally {
            release.countDown();
        }
    }
}
