package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.hermod.api.MailAddress;
import org.hermod.api.filter.FilterAdmin;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MailFilter;
import org.hermod.api.filter.RouteChange;
import org.hermod.api.filter.SessionInfo;
import org.junit.After;
import org.junit.Test;

/**
 * A stage runs its filters as one task on one filter thread: a filter past its budget ends the stage with its own
 * failure reply (the filters after it are not called), other sessions go on meanwhile, and a stage that has to wait for
 * a slot of one filter's limit goes on with the filters after it once it has one.
 */
public class StageRunTest {

    private static final MailAddress FROM = MailAddress.parse("a@x.test");
    private final CountDownLatch release = new CountDownLatch(1);
    private FilterRegistry registry;

    @After
    public void stop() {
        release.countDown();
        if (registry != null) {
            registry.deactivate();
        }
    }

    private static Map<String, Object> props(long id, String name, int ranking, Object... more) {
        Map<String, Object> p = new java.util.HashMap<>(Map.of("service.id", id, "service.ranking", ranking,
                FilterProperties.NAME, name));
        for (int i = 0; i < more.length; i += 2) {
            p.put((String) more[i], more[i + 1]);
        }
        return p;
    }

    private FilterChain chain(Map<String, Object> config) throws Exception {
        registry = new FilterRegistry(null, TestConfig.routing(config), Files.createTempDirectory("routing"));
        return registry.current();
    }

    private FilterAdmin.FilterCounters counters(String name) {
        return registry.filters().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow().counters();
    }

    private static FilterDecision get(java.util.concurrent.CompletionStage<FilterDecision> s) throws Exception {
        return s.toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    public void aFilterPastItsBudgetEndsItsStageWithItsFailureReplyWhileOtherSessionsGoOn() throws Exception {
        chain(Map.of());
        CountDownLatch slowEntered = new CountDownLatch(1);
        List<String> after = Collections.synchronizedList(new ArrayList<>());
        MailFilter first = (s, f, p) -> FilterDecision.reroute(RouteChange.pool("first"));
        MailFilter slow = (s, f, p) -> {
            if (s.sessionId().equals("stuck")) {
                slowEntered.countDown();
                while (true) { // ignores interruption: the worst case
                    try {
                        release.await();
                        return FilterDecision.proceed();
                    } catch (InterruptedException ignored) {
                        // keeps waiting
                    }
                }
            }
            return FilterDecision.proceed();
        };
        MailFilter last = (s, f, p) -> {
            after.add(s.sessionId());
            return FilterDecision.reroute(RouteChange.pool("last"));
        };
        registry.bind(FilterChain.Stage.MAIL, props(1, "first", 30), null, first);
        registry.bind(FilterChain.Stage.MAIL, props(2, "slow", 20, FilterProperties.TIMEOUT_MILLIS, 1000L), null, slow);
        registry.bind(FilterChain.Stage.MAIL, props(3, "last", 10), null, last);
        FilterChain c = registry.current();

        CompletableFuture<FilterDecision> stuck = c.mail(SessionInfo.local("stuck"), FROM, Map.of())
                .toCompletableFuture();
        assertTrue(slowEntered.await(5, TimeUnit.SECONDS));
        FilterDecision other = get(c.mail(SessionInfo.local("other"), FROM, Map.of()));
        assertEquals("another session goes through all three filters while one is stuck", "last",
                other.route().pool());
        assertTrue("the stuck stage is still within its budget", !stuck.isDone());

        FilterDecision d = get(stuck);
        assertEquals(FilterDecision.Action.DEFER, d.action());
        assertEquals(451, d.reply().code());
        assertEquals("4.3.0", d.reply().enhancedStatus());
        assertEquals("the filter after the stuck one never saw the stuck session", List.of("other"), after);
        FilterAdmin.FilterCounters sc = counters("slow");
        assertEquals(2, sc.calls());
        assertEquals(1, sc.timeouts());
        assertEquals(0, sc.errors());
        assertEquals(1, counters("last").calls());
        assertEquals(2, counters("first").calls());
    }

    @Test
    public void aFilterOnFailureRejectEndsItsStageWith554AndTheStageAfterItStillRuns() throws Exception {
        chain(Map.of());
        List<String> after = Collections.synchronizedList(new ArrayList<>());
        MailFilter broken = (s, f, p) -> {
            throw new IllegalStateException("bug");
        };
        MailFilter last = (s, f, p) -> {
            after.add(s.sessionId());
            return FilterDecision.proceed();
        };
        registry.bind(FilterChain.Stage.MAIL, props(1, "broken", 20, FilterProperties.ON_FAILURE, "reject"), null,
                broken);
        registry.bind(FilterChain.Stage.MAIL, props(2, "last", 10), null, last);
        FilterDecision d = get(registry.current().mail(SessionInfo.local("s"), FROM, Map.of()));
        assertEquals(554, d.reply().code());
        assertEquals("5.3.0", d.reply().enhancedStatus());
        assertEquals(List.of(), after);
        assertEquals(1, counters("broken").errors());
    }

    @Test
    public void stagesWaitingForASlotOfOneFilterGoOnWithTheFiltersAfterIt() throws Exception {
        chain(Map.of("maxConcurrentPerFilter", 1)); // one call of a filter in flight at a time
        Set<Thread> firstThreads = Collections.synchronizedSet(new java.util.HashSet<>());
        List<String> after = Collections.synchronizedList(new ArrayList<>());
        MailFilter narrow = (s, f, p) -> {
            firstThreads.add(Thread.currentThread());
            Thread.sleep(20);
            return FilterDecision.proceed();
        };
        MailFilter last = (s, f, p) -> {
            after.add(s.sessionId());
            return FilterDecision.reroute(RouteChange.pool("p-" + s.sessionId()));
        };
        registry.bind(FilterChain.Stage.MAIL, props(1, "narrow", 20, FilterProperties.TIMEOUT_MILLIS, 5000L), null,
                narrow);
        registry.bind(FilterChain.Stage.MAIL, props(2, "last", 10, FilterProperties.TIMEOUT_MILLIS, 5000L), null,
                last);
        FilterChain c = registry.current();
        List<CompletableFuture<FilterDecision>> stages = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            stages.add(c.mail(SessionInfo.local("s" + i), FROM, Map.of()).toCompletableFuture());
        }
        for (int i = 0; i < 6; i++) {
            FilterDecision d = get(stages.get(i));
            assertEquals(FilterDecision.Action.CONTINUE, d.action());
            assertEquals("each stage's own state carried across the wait", "p-s" + i, d.route().pool());
        }
        assertEquals(6, after.size());
        assertEquals(6, counters("narrow").calls());
        assertEquals(0, counters("narrow").timeouts());
        assertNotEquals(0, firstThreads.size());
    }

    @Test
    public void aFilterLeavingItsThreadInterruptedDoesNotInterruptTheNextFilter() throws Exception {
        chain(Map.of());
        MailFilter rude = (s, f, p) -> {
            Thread.currentThread().interrupt(); // e.g. restores the flag after catching an InterruptedException
            return FilterDecision.proceed();
        };
        MailFilter next = (s, f, p) -> {
            if (Thread.currentThread().isInterrupted()) { // blocking calls would fail at once: the stage would defer
                throw new InterruptedException("called on an interrupted thread");
            }
            return FilterDecision.reroute(RouteChange.pool("next"));
        };
        registry.bind(FilterChain.Stage.MAIL, props(1, "rude", 20), null, rude);
        registry.bind(FilterChain.Stage.MAIL, props(2, "next", 10), null, next);
        FilterDecision d = get(registry.current().mail(SessionInfo.local("s"), FROM, Map.of()));
        assertEquals(FilterDecision.Action.CONTINUE, d.action());
        assertEquals("next", d.route().pool());
        assertEquals(0, counters("next").errors());
    }
}
