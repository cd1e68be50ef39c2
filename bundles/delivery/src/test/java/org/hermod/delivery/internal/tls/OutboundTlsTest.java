package org.hermod.delivery.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.Route;
import org.junit.Test;

/** Which TLS each MX host gets, from the map, the default, the legacy switches, DANE results and MTA-STS policies. */
public class OutboundTlsTest {

    private volatile TlsPolicyMap map = TlsPolicyMap.EMPTY;
    private volatile String policy;

    private OutboundTls tls() {
        MtaSts sts = new MtaSts(name -> CompletableFuture.completedFuture(policy == null ? List.of()
                : List.of("v=STSv1; id=p1")),
                host -> CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress())),
                (d, a) -> policy, new MtaStsCache(null), Runnable::run, Clock.systemUTC());
        return new OutboundTls(() -> map, () -> sts, () -> null, () -> null);
    }

    private static Route route(String... hosts) throws Exception {
        List<MxHost> l = new ArrayList<>();
        for (String h : hosts) {
            l.add(new MxHost(h, 10, List.of(InetAddress.getLoopbackAddress())));
        }
        return Route.of(l, false);
    }

    private TlsRequirement req(String domain, TlsLevel def, boolean enabled, boolean required, String... hosts)
            throws Exception {
        return tls().requirement(domain, route(hosts), def, enabled, required).join();
    }

    @Test
    public void aSmarthostGetsItsOwnLevelNeverTheRecipientDomainsAndVerifiedConnectionsArePooledPerSmarthost() {
        TlsRequirement may = OutboundTls.smarthost("Relay.Example", TlsLevel.MAY, false, null);
        assertEquals(HostTls.Check.MAY, may.forHost("relay.example").check());
        assertEquals("smarthost", may.fallback().source());
        assertEquals("", may.poolKeySuffix());
        assertEquals("tlsRequired of the recipient domain raises may to encrypt", HostTls.Check.ENCRYPT,
                OutboundTls.smarthost("relay.example", TlsLevel.MAY, true, null).fallback().check());
        assertEquals(HostTls.Check.NONE, OutboundTls.smarthost("relay.example", TlsLevel.NONE, false, null)
                .fallback().check());
        TlsRequirement verify = OutboundTls.smarthost("relay.example", TlsLevel.VERIFY, false, null);
        assertEquals(HostTls.Check.PKIX, verify.fallback().check());
        assertTrue(verify.fallback().requiresTls());
        assertEquals("verify", verify.fallback().policy());
        assertEquals("#tls-verify:smarthost:relay.example", verify.poolKeySuffix());
    }

    @Test
    public void theMapBeatsTheDefaultAndDecidesWhichConnectionsMayBeShared() throws Exception {
        map = TlsPolicyMap.parse("bank.test verify\n.legacy.test none\n");
        TlsRequirement r = req("bank.test", TlsLevel.MAY, true, false, "mx.bank.test");
        assertEquals(HostTls.Check.PKIX, r.forHost("mx.bank.test").check());
        assertTrue(r.forHost("mx.bank.test").requiresTls());
        assertEquals("map", r.forHost("mx.bank.test").source());
        assertEquals("#tls-verify:bank.test", r.poolKeySuffix());
        assertEquals("#tls-none", req("x.legacy.test", TlsLevel.MAY, true, false, "mx").poolKeySuffix());
        TlsRequirement may = req("other.test", TlsLevel.MAY, true, false, "mx.other.test");
        assertEquals(HostTls.Check.MAY, may.forHost("mx.other.test").check());
        assertEquals("default", may.forHost("mx.other.test").source());
        assertEquals("", may.poolKeySuffix());
    }

    @Test
    public void legacySwitchesRaiseOrLowerTheOpportunisticFallback() throws Exception {
        TlsRequirement required = req("a.test", TlsLevel.MTA_STS, true, true, "mx.a.test");
        assertEquals(HostTls.Check.ENCRYPT, required.forHost("mx.a.test").check());
        assertEquals("#tls-required", required.poolKeySuffix());
        TlsRequirement off = req("a.test", TlsLevel.MAY, false, false, "mx.a.test");
        assertEquals(HostTls.Check.NONE, off.forHost("mx.a.test").check());
    }

    @Test
    public void mtaStsEnforceAllowsOnlyMatchingHostsAndVerifiesThem() throws Exception {
        policy = "version: STSv1\nmode: enforce\nmx: *.a.test\nmax_age: 600\n";
        TlsRequirement r = req("a.test", TlsLevel.AUTO, true, false, "mx1.a.test", "mx.elsewhere.test");
        HostTls in = r.forHost("mx1.a.test");
        assertEquals(HostTls.Check.PKIX, in.check());
        assertTrue(in.enforce());
        assertNull(in.refusal());
        assertEquals("mta-sts-enforce", in.policy());
        assertEquals("p1", in.policyId());
        HostTls out = r.forHost("mx.elsewhere.test");
        assertEquals("validation-failure", out.refusalType());
        assertTrue(out.refusal(), out.refusal().contains("does not match the MTA-STS policy of a.test"));
        assertEquals("#tls-verify:a.test", r.poolKeySuffix());
    }

    @Test
    public void mtaStsTestingChecksButNeverRefuses() throws Exception {
        policy = "version: STSv1\nmode: testing\nmx: mx.a.test\nmax_age: 600\n";
        TlsRequirement r = req("a.test", TlsLevel.MTA_STS, true, false, "mx.a.test", "other.b.test");
        assertFalse(r.forHost("mx.a.test").enforce());
        assertFalse(r.forHost("mx.a.test").requiresTls());
        HostTls other = r.forHost("other.b.test");
        assertNull(other.refusal());
        assertEquals("validation-failure", other.noteType());
    }

    @Test
    public void withoutAPolicyTheFallbackAppliesAndABrokenPolicyIsRecorded() throws Exception {
        policy = null;
        TlsRequirement none = req("a.test", TlsLevel.MTA_STS, true, false, "mx.a.test");
        assertEquals(HostTls.Check.MAY, none.forHost("mx.a.test").check());
        assertNull(none.forHost("mx.a.test").note());
        policy = "not a policy";
        TlsRequirement broken = req("b.test", TlsLevel.MTA_STS, true, false, "mx.b.test");
        assertEquals(HostTls.Check.MAY, broken.forHost("mx.b.test").check());
        assertEquals("sts-policy-invalid", broken.forHost("mx.b.test").noteType());
        assertEquals("may", broken.forHost("mx.b.test").policy());
    }

    @Test
    public void daneOnlyWithoutDnssecRefusesEveryHost() throws Exception {
        TlsRequirement r = req("a.test", TlsLevel.DANE_ONLY, true, false, "mx1.a.test", "mx2.a.test");
        assertEquals("dane-required", r.forHost("mx1.a.test").refusalType());
        assertEquals("dane-required", r.forHost("mx2.a.test").refusalType());
    }

    @Test
    public void daneAppliesToHostsWithSecureUsableTlsaRecords() {
        Tlsa ee = new Tlsa(3, 1, 1, new byte[32]);
        Tlsa pkixEe = new Tlsa(1, 1, 1, new byte[32]);
        HostTls dane = OutboundTls.daneHost("mx", new DaneLookup.HostTlsa(DaneLookup.Status.SECURE, List.of(ee, pkixEe), null));
        assertEquals(HostTls.Check.DANE, dane.check());
        assertEquals(List.of(ee), dane.tlsa());
        assertEquals("tlsa", dane.policyType());
        // only unusable records: encrypt, unauthenticated (RFC 7672 2.2)
        HostTls unusable = OutboundTls.daneHost("mx", new DaneLookup.HostTlsa(DaneLookup.Status.SECURE, List.of(pkixEe), null));
        assertEquals(HostTls.Check.ENCRYPT, unusable.check());
        assertTrue(unusable.requiresTls());
        assertEquals("tlsa-invalid", unusable.noteType());
        // bogus: the host is not used at all
        HostTls bogus = OutboundTls.daneHost("mx", new DaneLookup.HostTlsa(DaneLookup.Status.BOGUS, List.of(), "RRSIG expired"));
        assertEquals("dnssec-invalid", bogus.refusalType());
        // insecure or no records: DANE does not apply
        assertNull(OutboundTls.daneHost("mx", new DaneLookup.HostTlsa(DaneLookup.Status.INSECURE, List.of(), null)));
        assertNull(OutboundTls.daneHost("mx", new DaneLookup.HostTlsa(DaneLookup.Status.SECURE, List.of(), null)));
        assertNull(OutboundTls.daneHost("mx", null));
    }

    @Test
    public void underDaneOnlyHostsOfTheValidatedMxRecordsAreUsedAForgedMxHostIsRefused() {
        Tlsa ee = new Tlsa(3, 1, 1, new byte[32]);
        // the validated MX RRset names mx.a.test (secure TLSA); the routing answer also has mx.evil (insecure TLSA)
        DaneLookup.Result dr = new DaneLookup.Result(DaneLookup.Status.SECURE, java.util.Map.of(
                "mx.a.test", new DaneLookup.HostTlsa(DaneLookup.Status.SECURE, List.of(ee), null),
                "mx.evil", new DaneLookup.HostTlsa(DaneLookup.Status.INSECURE, List.of(), null)), null,
                java.util.Set.of("mx.a.test"));
        HostTls may = HostTls.simple(HostTls.Check.MAY, "may", "default");
        for (TlsLevel level : List.of(TlsLevel.DANE, TlsLevel.AUTO)) {
            TlsRequirement r = tls().withDane("a.test", level, List.of("mx.evil", "mx.a.test"), dr, may, null).join();
            assertEquals(HostTls.Check.DANE, r.forHost("mx.a.test").check());
            assertNull(r.forHost("mx.a.test").refusal());
            HostTls evil = r.forHost("mx.evil");
            assertEquals("dnssec-invalid", evil.refusalType());
            assertTrue(evil.refusal(), evil.refusal().contains("not in the DNSSEC-validated MX records"));
        }
        // a secure denial of MX: only the domain itself (implicit MX) is a validated target
        DaneLookup.Result none = new DaneLookup.Result(DaneLookup.Status.SECURE, java.util.Map.of(), null,
                java.util.Set.of());
        assertTrue(none.validatedTarget("a.test", "A.test"));
        assertFalse(none.validatedTarget("a.test", "mx.evil"));
        // an insecure MX RRset: DANE does not apply and no host is refused for it
        TlsRequirement insecure = tls().withDane("a.test", TlsLevel.DANE, List.of("mx.evil"),
                new DaneLookup.Result(DaneLookup.Status.INSECURE, java.util.Map.of(), null), may, null).join();
        assertNull(insecure.forHost("mx.evil").refusal());
        assertEquals(HostTls.Check.MAY, insecure.forHost("mx.evil").check());
    }
}
