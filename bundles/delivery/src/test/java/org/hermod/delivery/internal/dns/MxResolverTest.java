package org.hermod.delivery.internal.dns;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.hermod.delivery.internal.testing.TestDnsServer;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.xbill.DNS.Type;

public class MxResolverTest {

    private TestDnsServer dns;
    private MxResolver resolver;

    @Before
    public void setUp() throws Exception {
        dns = new TestDnsServer();
        resolver = new MxResolver(List.of(dns.address()), Duration.ofMillis(700), 1000, false);
    }

    @After
    public void tearDown() {
        dns.close();
    }

    private Route resolve(String domain) throws Exception {
        return resolver.resolve(domain).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    public void mxInPreferenceOrderWithEqualPreferencesShuffled() throws Exception {
        dns.mx("example.test", 20, "mx20.example.test").mx("example.test", 10, "mxa.example.test")
                .mx("example.test", 10, "mxb.example.test").mx("example.test", 30, "mx30.example.test");
        dns.a("mx20.example.test", "192.0.2.20").a("mxa.example.test", "192.0.2.1").a("mxb.example.test", "192.0.2.2")
                .a("mx30.example.test", "192.0.2.30").aaaa("mx30.example.test", "2001:db8::30");
        Set<String> firsts = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            Route r = new MxResolver(List.of(dns.address()), Duration.ofSeconds(2), 1000, false)
                    .resolve("example.test").toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertNull(r.failure());
            assertFalse(r.implicit());
            List<MxHost> h = r.hosts();
            assertEquals(4, h.size());
            assertEquals(10, h.get(0).preference());
            assertEquals(10, h.get(1).preference());
            assertEquals("mx20.example.test", h.get(2).name());
            assertEquals("mx30.example.test", h.get(3).name());
            assertEquals(2, h.get(3).addresses().size()); // IPv4 first, then IPv6
            assertEquals("192.0.2.30", h.get(3).addresses().get(0).getHostAddress());
            assertTrue(h.get(3).addresses().get(1) instanceof java.net.Inet6Address);
            firsts.add(h.get(0).name());
            if (firsts.size() == 2) {
                break;
            }
        }
        assertEquals("equal preferences must be randomised", Set.of("mxa.example.test", "mxb.example.test"), firsts);
    }

    @Test
    public void noMxMeansImplicitMx() throws Exception {
        dns.a("plain.test", "192.0.2.7").aaaa("plain.test", "2001:db8::7");
        Route r = resolve("plain.test");
        assertNull(r.failure());
        assertTrue(r.implicit());
        assertEquals("plain.test", r.hosts().get(0).name());
        assertEquals(2, r.hosts().get(0).addresses().size());
    }

    @Test
    public void nullMxIsPermanent5110() throws Exception {
        dns.mx("nomail.test", 0, ".");
        Route r = resolve("nomail.test");
        assertTrue(r.isPermanentFailure());
        assertEquals(550, r.failure().code());
        assertEquals("5.1.10", r.failure().enhancedStatus());
        assertTrue(r.failure().text().contains("null MX"));
    }

    @Test
    public void nxdomainIsPermanent512() throws Exception {
        dns.nxdomain("gone.test");
        Route r = resolve("gone.test");
        assertTrue(r.isPermanentFailure());
        assertEquals("5.1.2", r.failure().enhancedStatus());
    }

    @Test
    public void servfailIsTemporary443() throws Exception {
        dns.servfail("broken.test");
        Route r = resolve("broken.test");
        assertTrue(r.failed());
        assertFalse(r.isPermanentFailure());
        assertEquals(451, r.failure().code());
        assertEquals("4.4.3", r.failure().enhancedStatus());
    }

    @Test
    public void timeoutIsTemporary443() throws Exception {
        dns.silent("slow.test");
        Route r = resolve("slow.test");
        assertTrue(r.failed());
        assertEquals("4.4.3", r.failure().enhancedStatus());
    }

    @Test
    public void mxHostWithoutAddressIsPermanent() throws Exception {
        dns.mx("dangling.test", 10, "nothere.dangling.test").nxdomain("nothere.dangling.test");
        Route r = resolve("dangling.test");
        assertTrue(r.isPermanentFailure());
    }

    @Test
    public void answersAreCachedWithinTtl() throws Exception {
        dns.mx("cached.test", 10, "mx.cached.test").a("mx.cached.test", "192.0.2.9");
        resolve("cached.test");
        resolve("cached.test");
        resolve("cached.test");
        assertEquals(1, dns.queries("cached.test", Type.MX));
        assertEquals(1, dns.queries("mx.cached.test", Type.A));
    }

    @Test
    public void answersAreAskedAgainOnceTheirTtlIsOver() throws Exception {
        // dnsjava's cache counts whole seconds (an entry expires at the second its TTL is added to, truncated): a 1 s
        // TTL can be over between two immediate lookups, a 2 s one lasts at least 1 s and is over after at most 2 s
        assertEquals(1, mxQueriesForTwoDeliveries(2, "short.test"));
        // asked again within 2.1 s: lookups until then are answered from the cache or, once it is over, from the server
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2100);
        Route r = resolve("short.test");
        while (dns.queries("short.test", Type.MX) < 2 && System.nanoTime() - deadline < 0) {
            TimeUnit.MILLISECONDS.sleep(20);
            r = resolve("short.test");
        }
        assertNull(r.failure());
        assertEquals(2, dns.queries("short.test", Type.MX));
        assertEquals(2, dns.queries("mx.short.test", Type.A));
    }

    @Test
    public void aFailureIsRememberedForTheHoldAndThenAskedAgain() throws Exception {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        resolver.nanoClock(now::get);
        dns.servfail("down.test");
        assertEquals("4.4.3", resolve("down.test").failure().enhancedStatus());
        now.addAndGet(MxResolver.FAILURE_HOLD.toNanos() - 1);
        assertEquals("4.4.3", resolve("down.test").failure().enhancedStatus());
        assertEquals(1, dns.queries("down.test", Type.MX));
        now.addAndGet(1);
        assertEquals("4.4.3", resolve("down.test").failure().enhancedStatus());
        assertEquals(2, dns.queries("down.test", Type.MX));
    }

    @Test
    public void concurrentLookupsOfOneDomainShareOneQuery() throws Exception {
        dns.silent("busy.test");
        List<java.util.concurrent.CompletableFuture<Route>> all = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) {
            all.add(resolver.resolve("busy.test").toCompletableFuture());
        }
        for (java.util.concurrent.CompletableFuture<Route> f : all) {
            assertEquals("4.4.3", f.get(10, TimeUnit.SECONDS).failure().enhancedStatus());
        }
        assertEquals(1, dns.queries("busy.test", Type.MX));
    }

    @Test
    public void zeroTtlIsNotCached() throws Exception {
        assertEquals(2, mxQueriesForTwoDeliveries(0, "fresh.test"));
    }

    /** Publishes an MX with the TTL, resolves the domain twice and tells how often its MX was asked for. */
    private int mxQueriesForTwoDeliveries(long ttl, String domain) throws Exception {
        dns.ttl(ttl).mx(domain, 10, "mx." + domain).a("mx." + domain, "192.0.2.9");
        resolve(domain);
        resolve(domain);
        return dns.queries(domain, Type.MX);
    }

    @Test
    public void addressLiteral() throws Exception {
        Route r = resolve("[127.0.0.1]");
        assertNull(r.failure());
        assertEquals("127.0.0.1", r.hosts().get(0).addresses().get(0).getHostAddress());
    }

    /** Answers from the test server, except that the first {@code broken} queries go wrong as {@code failure} says. */
    private final class BrokenResolver implements org.xbill.DNS.Resolver {
        private final org.xbill.DNS.Resolver real = MxResolver.resolver(List.of(dns.address()), Duration.ofSeconds(2));
        private final java.util.concurrent.atomic.AtomicInteger broken;
        private final boolean throwError;

        BrokenResolver(int broken, boolean throwError) {
            this.broken = new java.util.concurrent.atomic.AtomicInteger(broken);
            this.throwError = throwError;
        }

        @Override
        public java.util.concurrent.CompletionStage<org.xbill.DNS.Message> sendAsync(org.xbill.DNS.Message query,
                                                                                    java.util.concurrent.Executor e) {
            if (broken.getAndDecrement() > 0) {
                if (throwError) {
                    throw new NoClassDefFoundError("org/xbill/DNS/Gone"); // e.g. after a bundle update
                }
                return new java.util.concurrent.CompletableFuture<>(); // never completes
            }
            return real.sendAsync(query, e);
        }

        @Override public void setPort(int port) { }
        @Override public void setTCP(boolean flag) { }
        @Override public void setIgnoreTruncation(boolean flag) { }
        @Override public void setEDNS(int v, int p, int f, List<org.xbill.DNS.EDNSOption> o) { }
        @Override public void setTSIGKey(org.xbill.DNS.TSIG key) { }
        @Override public void setTimeout(Duration timeout) { }
    }

    @Test
    public void anErrorInTheLookupFailsTemporarilyAndDoesNotBlockLaterLookups() throws Exception {
        dns.mx("err.test", 10, "mx.err.test").a("mx.err.test", "192.0.2.7");
        AtomicLong now = new AtomicLong();
        MxResolver r = new MxResolver(new BrokenResolver(1, true), 100, false, Runnable::run);
        r.nanoClock(now::get);
        assertEquals("4.4.3", r.resolve("err.test").toCompletableFuture().get(10, TimeUnit.SECONDS).failure()
                .enhancedStatus());
        now.addAndGet(MxResolver.FAILURE_HOLD.toNanos() + 1);
        Route again = r.resolve("err.test").toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertNull(again.failure());
        assertEquals("mx.err.test", again.hosts().get(0).name());
    }

    @Test
    public void aLookupThatNeverAnswersFailsTemporarilyAndDoesNotBlockLaterLookups() throws Exception {
        dns.mx("stuck.test", 10, "mx.stuck.test").a("mx.stuck.test", "192.0.2.8");
        AtomicLong now = new AtomicLong();
        MxResolver r = new MxResolver(new BrokenResolver(1, false), 100, false, Runnable::run);
        r.nanoClock(now::get);
        r.lookupBound(Duration.ofMillis(200));
        Route first = r.resolve("stuck.test").toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals("4.4.3", first.failure().enhancedStatus());
        assertTrue(first.failure().toString(), first.failure().toString().contains("no answer within 200 ms"));
        now.addAndGet(MxResolver.FAILURE_HOLD.toNanos() + 1);
        Route again = r.resolve("stuck.test").toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertNull(again.failure());
        assertEquals("mx.stuck.test", again.hosts().get(0).name());
    }
}
