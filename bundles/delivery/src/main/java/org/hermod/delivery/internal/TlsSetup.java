package org.hermod.delivery.internal;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.dns.Route;
import org.hermod.delivery.internal.tls.CertChecks;
import org.hermod.delivery.internal.tls.DaneLookup;
import org.hermod.delivery.internal.tls.MtaSts;
import org.hermod.delivery.internal.tls.MtaStsCache;
import org.hermod.delivery.internal.tls.MtaStsFetcher;
import org.hermod.delivery.internal.tls.OutboundTls;
import org.hermod.delivery.internal.tls.TlsLevel;
import org.hermod.delivery.internal.tls.TlsPolicyFile;
import org.hermod.delivery.internal.tls.TlsRequirement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound TLS machinery of the delivery component, built from its configuration: trust store, policy map file,
 * MTA-STS (lookups through delivery's resolver, fetches on their own executor, cache under the Karaf data directory)
 * and DANE (a validating resolver with the configured trust anchors). {@link #configure} rebuilds what changed; the
 * policy map file is re-read by {@link #poll()}. Thread-safe: the parts are published as one immutable snapshot.
 */
final class TlsSetup implements Deliverer.TlsPolicies {

    private static final Logger LOG = LoggerFactory.getLogger(TlsSetup.class);

    /** The parsed TLS part of the configuration. */
    record Settings(TlsLevel defaultLevel, TlsLevel smarthostLevel, Path policyMap, String trustStore, int httpsPort, Duration timeout,
                    Path cacheDir, Path trustAnchors, List<InetSocketAddress> dnsServers, Duration dnsTimeout) {

        static Settings from(DeliveryConfig c, DeliverySettings s, String karafEtc, String karafData) {
            Path etc = Path.of(karafEtc == null ? "etc" : karafEtc);
            Path data = karafData == null ? null : Path.of(karafData);
            Path cache = !c.mtaSts_cacheDir().isBlank() ? Path.of(c.mtaSts_cacheDir().trim())
                    : data == null ? null : data.resolve("hermod").resolve("mta-sts");
            return new Settings(TlsLevel.parse(c.tls_defaultPolicy()), TlsSetup.smarthostLevel(c.tls_smarthostPolicy()),
                    c.tls_policyMap().isBlank() ? etc.resolve("hermod-tls-policy.map") : Path.of(c.tls_policyMap().trim()),
                    c.tls_trustStore().trim(), c.mtaSts_httpsPort(), Durations.parse(c.mtaSts_timeout()), cache,
                    c.dane_trustAnchors().isBlank() ? etc.resolve("hermod-dnssec-root.key")
                            : Path.of(c.dane_trustAnchors().trim()), s.dnsServers(), s.dnsTimeout());
        }
    }

    private record Parts(Settings settings, TlsPolicyFile map, CertChecks certs, MtaSts mtaSts, DaneLookup dane,
                         OutboundTls outbound) {
    }

    private final Supplier<MxResolver> resolver;
    private final Executor fetches;
    private final Executor dns;
    private volatile Parts parts;

    /**
     * @param fetches runs the blocking MTA-STS policy fetches
     * @param dns runs dnsjava's asynchronous steps of the validating resolver
     */
    TlsSetup(Supplier<MxResolver> resolver, Executor fetches, Executor dns) {
        this.resolver = resolver;
        this.fetches = fetches;
        this.dns = dns;
    }

    /** Applies a configuration; the parts whose settings did not change are kept. */
    synchronized void configure(Settings s) {
        Parts old = parts;
        TlsPolicyFile map = old != null && old.settings.policyMap().equals(s.policyMap()) ? old.map
                : new TlsPolicyFile(s.policyMap());
        CertChecks certs = old != null && Objects.equals(old.settings.trustStore(), s.trustStore()) ? old.certs
                : loadCerts(s.trustStore());
        boolean sameSts = old != null && old.certs == certs && old.settings.httpsPort() == s.httpsPort()
                && old.settings.timeout().equals(s.timeout()) && Objects.equals(old.settings.cacheDir(), s.cacheDir());
        MtaSts sts = sameSts ? old.mtaSts : mtaSts(s, certs);
        boolean sameDane = old != null && old.settings.trustAnchors().equals(s.trustAnchors())
                && old.settings.dnsServers().equals(s.dnsServers()) && old.settings.dnsTimeout().equals(s.dnsTimeout());
        DaneLookup dane = sameDane ? old.dane : dane(s);
        OutboundTls outbound = new OutboundTls(() -> parts.map.current(), () -> parts.mtaSts, () -> parts.dane,
                () -> parts.certs);
        parts = new Parts(s, map, certs, sts, dane, outbound);
        LOG.info("outbound TLS: default policy {}, policy map {}, trust store {} ({} CAs), MTA-STS port {}{}, DANE {}",
                s.defaultLevel(), s.policyMap(), s.trustStore().isEmpty() ? "JDK" : s.trustStore(),
                certs == null ? 0 : certs.anchorCount(), s.httpsPort(), sts == null ? " (off: no trust store)" : "",
                dane == null ? "off (no trust anchors in " + s.trustAnchors() + ")" : "anchors " + s.trustAnchors());
    }

    /** {@code tls.smarthostPolicy}: one of none, may, encrypt, verify. */
    static TlsLevel smarthostLevel(String v) {
        TlsLevel l = TlsLevel.parse(v);
        if (l != TlsLevel.NONE && l != TlsLevel.MAY && l != TlsLevel.ENCRYPT && l != TlsLevel.VERIFY) {
            throw new IllegalArgumentException("tls.smarthostPolicy must be none, may, encrypt or verify, not " + l);
        }
        return l;
    }

    private int polls;

    /** Re-reads the policy map when it changed; now and then forgets expired MTA-STS policies. */
    void poll() {
        Parts p = parts;
        if (p != null) {
            p.map.poll();
            if (p.mtaSts != null && ++polls % 150 == 0) {
                p.mtaSts.purge();
            }
        }
    }

    @Override
    public CompletableFuture<TlsRequirement> requirement(String domain, Route route, boolean tlsEnabled,
                                                         boolean tlsRequired) {
        Parts p = parts;
        return p.outbound.requirement(domain, route, p.settings.defaultLevel(), tlsEnabled, tlsRequired);
    }

    @Override
    public CompletableFuture<TlsRequirement> smarthost(String host, boolean tlsRequired) {
        Parts p = parts;
        return CompletableFuture.completedFuture(OutboundTls.smarthost(host, p.settings.smarthostLevel(), tlsRequired,
                p.certs));
    }

    private static CertChecks loadCerts(String trustStore) {
        try {
            return CertChecks.load(trustStore);
        } catch (Exception e) {
            LOG.error("outbound TLS trust store {} not loaded: {}; verify and MTA-STS cannot authenticate peers",
                    trustStore.isEmpty() ? "(JDK)" : trustStore, e.toString());
            return null;
        }
    }

    private MtaSts mtaSts(Settings s, CertChecks certs) {
        if (certs == null) {
            return null;
        }
        try {
            MtaStsFetcher fetcher = new MtaStsFetcher(certs.clientContext(), s.httpsPort(), s.timeout());
            return new MtaSts(name -> resolver.get().txt(name).toCompletableFuture(),
                    host -> resolver.get().hostAddresses(host).toCompletableFuture(), MtaSts.fetching(fetcher),
                    new MtaStsCache(s.cacheDir()), fetches, Clock.systemUTC());
        } catch (Exception e) {
            LOG.error("MTA-STS disabled: {}", e.toString());
            return null;
        }
    }

    private DaneLookup dane(Settings s) {
        if (!Files.isReadable(s.trustAnchors())) {
            return null;
        }
        try (InputStream in = Files.newInputStream(s.trustAnchors())) {
            return new DaneLookup(s.dnsServers(), s.dnsTimeout(), in, Clock.systemUTC(), dns);
        } catch (Exception e) {
            LOG.error("DANE disabled: trust anchors {} not loaded: {}", s.trustAnchors(), e.toString());
            return null;
        }
    }
}
