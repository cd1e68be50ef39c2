package org.hermod.delivery.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;

/** The MTA-STS lookup and cache rules of RFC 8461 section 5.1, with DNS and HTTPS answered by the test. */
public class MtaStsTest {

    private volatile List<String> txt = List.of("v=STSv1; id=20260101");
    private volatile String body = policy("enforce", 3600);
    private volatile boolean fetchFails;
    private final AtomicInteger fetches = new AtomicInteger();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T00:00:00Z"));

    private static String policy(String mode, long maxAge) {
        return "version: STSv1\nmode: " + mode + "\nmx: mx.a.test\nmax_age: " + maxAge + "\n";
    }

    private MtaSts sts(MtaStsCache cache) {
        return new MtaSts(name -> {
            assertEquals("_mta-sts.a.test", name);
            return txt == null ? CompletableFuture.failedFuture(new java.io.IOException("SERVFAIL"))
                    : CompletableFuture.completedFuture(txt);
        }, host -> {
            assertEquals("mta-sts.a.test", host);
            return CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
        }, (domain, addrs) -> {
            fetches.incrementAndGet();
            if (fetchFails) {
                throw new CompletionException(new MtaStsFetcher.FetchException("sts-policy-fetch-error",
                        "connection refused", null));
            }
            return body;
        }, cache, Runnable::run, clock);
    }

    @Test
    public void aPolicyIsFetchedOnceAndKeptWhileTheIdIsUnchangedAndMaxAgeLasts() {
        MtaSts s = sts(new MtaStsCache(null));
        MtaSts.Result r = s.policy("A.test").join();
        assertTrue(r.active());
        assertEquals(MtaStsPolicy.Mode.ENFORCE, r.policy().mode());
        assertEquals("20260101", r.id());
        s.policy("a.test").join();
        clock.advance(Duration.ofMinutes(59));
        s.policy("a.test").join();
        assertEquals(1, fetches.get());
        // a new id: fetched again at once
        txt = List.of("v=STSv1; id=20260102");
        body = policy("testing", 3600);
        assertEquals(MtaStsPolicy.Mode.TESTING, s.policy("a.test").join().policy().mode());
        assertEquals(2, fetches.get());
        // max_age over: fetched again even with the same id
        clock.advance(Duration.ofMinutes(61));
        s.policy("a.test").join();
        assertEquals(3, fetches.get());
    }

    @Test
    public void withoutTheTxtRecordACachedPolicyAppliesUntilItExpires() {
        MtaSts s = sts(new MtaStsCache(null));
        assertTrue(s.policy("a.test").join().active());
        txt = List.of(); // the record is gone
        clock.advance(Duration.ofMinutes(30));
        assertTrue(s.policy("a.test").join().active());
        txt = null; // DNS fails
        assertTrue(s.policy("a.test").join().active());
        clock.advance(Duration.ofMinutes(31));
        MtaSts.Result r = s.policy("a.test").join();
        assertFalse(r.active());
        assertNull(r.failure());
        assertEquals(1, fetches.get());
    }

    @Test
    public void aFailedFetchKeepsTheCachedPolicyAndIsNotRepeatedAtOnce() {
        MtaSts s = sts(new MtaStsCache(null));
        s.policy("a.test").join();
        txt = List.of("v=STSv1; id=new1");
        fetchFails = true;
        MtaSts.Result r = s.policy("a.test").join();
        assertTrue("the unexpired cached policy stays in force", r.active());
        assertEquals("sts-policy-fetch-error", r.failure());
        s.policy("a.test").join();
        assertEquals(2, fetches.get());
        clock.advance(MtaSts.FAILURE_HOLD.plusSeconds(1));
        s.policy("a.test").join();
        assertEquals(3, fetches.get());
    }

    @Test
    public void withoutACachedPolicyAFetchFailureIsRecordedAndNoPolicyApplies() {
        fetchFails = true;
        MtaSts.Result r = sts(new MtaStsCache(null)).policy("a.test").join();
        assertFalse(r.active());
        assertEquals("sts-policy-fetch-error", r.failure());
        fetchFails = false;
        body = "<html>hello</html>";
        clock.advance(MtaSts.FAILURE_HOLD.plusSeconds(1));
        r = sts(new MtaStsCache(null)).policy("a.test").join();
        assertEquals("sts-policy-invalid", r.failure());
    }

    @Test
    public void noRecordOrTwoRecordsOrABadIdMeanNoPolicy() {
        assertNull(MtaSts.id(List.of()));
        assertNull(MtaSts.id(List.of("v=spf1 -all")));
        assertNull(MtaSts.id(List.of("v=STSv1; id=a", "v=STSv1; id=b")));
        assertNull(MtaSts.id(List.of("v=STSv1; id=not-alnum!")));
        assertEquals("abc123", MtaSts.id(List.of("v=spf1 -all", "v=STSv1; id=abc123;")));
        txt = List.of("v=STSv1; id=a", "v=STSv1; id=b");
        assertFalse(sts(new MtaStsCache(null)).policy("a.test").join().active());
        assertEquals(0, fetches.get());
    }

    @Test
    public void aDomainWithoutACacheFileIsLookedForOnDiskOncePerStart() throws Exception {
        Path dir = Files.createTempDirectory("mta-sts-cache");
        sts(new MtaStsCache(dir)).policy("a.test").join();
        String file = Files.readString(dir.resolve("a.test.sts"));
        MtaStsCache c = new MtaStsCache(dir);
        assertNull(c.get("b.test"));
        Files.writeString(dir.resolve("b.test.sts"), file); // not written by this cache: seen after a restart only
        assertNull(c.get("b.test"));
        assertEquals("20260101", new MtaStsCache(dir).get("b.test").id());
    }

    @Test
    public void anUnreadableCacheFileIsReadAgainOnceItIsValid() throws Exception {
        Path dir = Files.createTempDirectory("mta-sts-cache");
        sts(new MtaStsCache(dir)).policy("a.test").join();
        String file = Files.readString(dir.resolve("a.test.sts"));
        Files.writeString(dir.resolve("b.test.sts"), "id: 20260101\nfetched: not-a-time\n\n" + policy("enforce", 60));
        MtaStsCache c = new MtaStsCache(dir);
        assertNull(c.get("b.test")); // unreadable: no policy, but not taken for "no file"
        Files.writeString(dir.resolve("b.test.sts"), file);
        assertEquals("20260101", c.get("b.test").id());
    }

    @Test
    public void theFileCacheSurvivesARestart() throws Exception {
        Path dir = Files.createTempDirectory("mta-sts-cache");
        sts(new MtaStsCache(dir)).policy("a.test").join();
        assertTrue(Files.exists(dir.resolve("a.test.sts")));
        // a new instance (a restart) with DNS down still enforces the cached policy, without fetching
        txt = null;
        MtaSts.Result r = sts(new MtaStsCache(dir)).policy("a.test").join();
        assertTrue(r.active());
        assertEquals("20260101", r.id());
        assertEquals(1, fetches.get());
        // same id after the restart: no fetch either
        txt = List.of("v=STSv1; id=20260101");
        sts(new MtaStsCache(dir)).policy("a.test").join();
        assertEquals(1, fetches.get());
        // expired entries are purged, file included
        MtaStsCache c = new MtaStsCache(dir);
        c.get("a.test");
        c.purge(clock.instant().plus(Duration.ofHours(2)));
        assertFalse(Files.exists(dir.resolve("a.test.sts")));
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    public void aStalledPolicyFetchCountsAsAFetchErrorAfterTheDeadlineAndACachedPolicyStillApplies() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newCachedThreadPool();
        try {
            fetchStalls = false;
            MtaSts s = new MtaSts(name -> CompletableFuture.completedFuture(txt),
                    host -> CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress())),
                    (domain, addrs) -> {
                        if (fetchStalls) {
                            try {
                                release.await(); // a policy server that never finishes its answer
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                        return body;
                    }, new MtaStsCache(null), pool, clock);
            s.fetchDeadline(Duration.ofMillis(300));
            // no cached policy: after the deadline, no policy (delivery as may) with the fetch error recorded
            fetchStalls = true;
            long t0 = System.nanoTime();
            MtaSts.Result none = s.policy("a.test").get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(System.nanoTime() - t0 < java.util.concurrent.TimeUnit.SECONDS.toNanos(3));
            assertFalse(none.active());
            assertEquals("sts-policy-fetch-error", none.failure());
            assertTrue(none.detail(), none.detail().contains("took longer than 300 ms"));
            // a cached enforce policy stays in force when the fetch of a new id stalls
            clock.advance(MtaSts.FAILURE_HOLD.plusSeconds(1));
            fetchStalls = false;
            assertEquals(MtaStsPolicy.Mode.ENFORCE, s.policy("a.test").join().policy().mode());
            txt = List.of("v=STSv1; id=20260102");
            fetchStalls = true;
            MtaSts.Result cached = s.policy("a.test").get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(cached.active());
            assertEquals(MtaStsPolicy.Mode.ENFORCE, cached.policy().mode());
            assertEquals("sts-policy-fetch-error", cached.failure());
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    private volatile boolean fetchStalls;
}
