package org.hermod.delivery.internal.tls;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import org.hermod.api.SmtpReply;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides the TLS requirements of a delivery (ADR 0011). The level comes from the policy map, else the default; the
 * legacy {@code tlsRequired}/{@code tlsRequiredDomains} raise the fallback from {@code may} to {@code encrypt} and
 * {@code tlsEnabled = false} lowers it to {@code none}. For {@code dane}, {@code dane-only} and {@code auto}, DANE applies
 * to the MX hosts with secure, usable TLSA records when the MX RRset is secure (a bogus MX RRset defers the
 * destination); for {@code mta-sts} and {@code auto}, the remaining hosts follow the domain's MTA-STS policy (enforce:
 * only matching hosts, PKIX-verified; testing: checked, recorded, delivered anyway); everything else gets the fallback.
 * Thread-safe; never blocks.
 */
public final class OutboundTls {

    private static final Logger LOG = LoggerFactory.getLogger(OutboundTls.class);

    private final Supplier<TlsPolicyMap> map;
    private final Supplier<MtaSts> mtaSts;
    private final Supplier<DaneLookup> dane;
    private final Supplier<CertChecks> certs;

    /**
     * @param mtaSts the MTA-STS lookup, or a supplier of null (then {@code mta-sts} acts as {@code may})
     * @param dane the DANE lookup, or a supplier of null when no trust anchors are loaded (then DANE is not found, and
     *     {@code dane-only} defers)
     */
    public OutboundTls(Supplier<TlsPolicyMap> map, Supplier<MtaSts> mtaSts, Supplier<DaneLookup> dane,
                       Supplier<CertChecks> certs) {
        this.map = map;
        this.mtaSts = mtaSts;
        this.dane = dane;
        this.certs = certs;
    }

    /**
     * The requirement for a resolved destination; never completes exceptionally.
     *
     * @param defaultLevel {@code tls.defaultPolicy}
     * @param tlsEnabled false: the fallback is {@code none}
     * @param tlsRequired true: the fallback is {@code encrypt}
     */
    public CompletableFuture<TlsRequirement> requirement(String domain, Route route, TlsLevel defaultLevel,
                                                         boolean tlsEnabled, boolean tlsRequired) {
        TlsPolicyMap.Choice choice = map.get().lookup(domain, defaultLevel);
        TlsLevel level = choice.level();
        HostTls fallback = tlsRequired ? HostTls.simple(HostTls.Check.ENCRYPT, "encrypt", choice.source())
                : tlsEnabled ? HostTls.simple(HostTls.Check.MAY, "may", choice.source())
                : HostTls.simple(HostTls.Check.NONE, "none", choice.source());
        CertChecks c = certs.get();
        switch (level) {
            case NONE -> {
                return done(TlsRequirement.uniform(domain, tlsRequired ? fallback
                        : HostTls.simple(HostTls.Check.NONE, "none", choice.source()), c));
            }
            case MAY -> {
                return done(TlsRequirement.uniform(domain, fallback, c));
            }
            case ENCRYPT -> {
                return done(TlsRequirement.uniform(domain, HostTls.simple(HostTls.Check.ENCRYPT, "encrypt", choice.source()), c));
            }
            case VERIFY -> {
                return done(TlsRequirement.uniform(domain, HostTls.simple(HostTls.Check.PKIX, "verify", choice.source()), c));
            }
            default -> {
            }
        }
        List<String> names = new ArrayList<>();
        for (MxHost h : route.hosts()) {
            names.add(h.name().toLowerCase(Locale.ROOT));
        }
        DaneLookup d = level.usesDane() ? dane.get() : null;
        CompletableFuture<DaneLookup.Result> daneResult = d == null || route.implicit() && names.isEmpty()
                ? done(new DaneLookup.Result(DaneLookup.Status.INSECURE, Map.of(), level.usesDane()
                        ? "no DNSSEC trust anchors loaded" : null))
                : d.lookup(domain, names).exceptionally(t -> new DaneLookup.Result(DaneLookup.Status.BOGUS, Map.of(),
                        String.valueOf(t)));
        return daneResult.thenCompose(dr -> withDane(domain, level, names, dr, fallback, c)).exceptionally(t -> {
            LOG.warn("TLS policy of {} could not be determined", domain, t);
            return new TlsRequirement(domain, Map.of(), fallback, SmtpReply.of(451, "4.7.5",
                    "TLS policy of " + domain + " could not be determined: " + t), "validation-failure", c);
        });
    }

    /** The requirement once the DANE lookup is done: DANE hosts, then MTA-STS or the fallback for the rest. */
    CompletableFuture<TlsRequirement> withDane(String domain, TlsLevel level, List<String> names, DaneLookup.Result dr,
                                               HostTls fallback, CertChecks c) {
        if (dr.mx() == DaneLookup.Status.BOGUS) {
            return done(new TlsRequirement(domain, Map.of(), fallback, SmtpReply.of(451, "4.7.5",
                    "DNSSEC validation of the MX records of " + domain + " failed: " + dr.detail()),
                    "dnssec-invalid", c));
        }
        Map<String, HostTls> hosts = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>();
        for (String h : names) {
            if (dr.mx() == DaneLookup.Status.SECURE && !dr.validatedTarget(domain, h)) {
                // the MX answer used for routing is not the DNSSEC-validated one: possibly forged (RFC 7672 2.2.1)
                hosts.put(h, HostTls.simple(HostTls.Check.DANE, "dane", "dane").refused("dnssec-invalid",
                        "MX host " + h + " is not in the DNSSEC-validated MX records of " + domain + " ("
                                + String.join(", ", dr.mxTargets()) + ")"));
                continue;
            }
            HostTls t = dr.mx() == DaneLookup.Status.SECURE ? daneHost(h, dr.host(h)) : null;
            if (t != null) {
                hosts.put(h, t);
            } else {
                rest.add(h);
            }
        }
        if (level == TlsLevel.DANE_ONLY) {
            for (String h : rest) {
                hosts.put(h, HostTls.simple(HostTls.Check.DANE, "dane", "dane").refused("dane-required",
                        "policy dane-only: " + (dr.mx() != DaneLookup.Status.SECURE
                                ? "the MX records of " + domain + " are not DNSSEC-signed"
                                : "no secure usable TLSA record for _25._tcp." + h)));
            }
            return done(new TlsRequirement(domain, hosts, fallback, null, null, c));
        }
        if (!level.usesMtaSts() || rest.isEmpty() || mtaSts.get() == null) {
            return done(new TlsRequirement(domain, hosts, fallback, null, null, c));
        }
        return mtaSts.get().policy(domain).thenApply(sts -> {
            for (String h : rest) {
                hosts.put(h, stsHost(domain, h, sts, fallback));
            }
            return new TlsRequirement(domain, hosts, fallback, null, null, c);
        });
    }

    /**
     * The requirement for a smarthost: {@code level} (none, may, encrypt or verify against the smarthost's name) for
     * its one host, source {@code smarthost}; {@code tlsRequired} (the recipient domain's legacy switch) raises none and
     * may to encrypt. Connections verified for a smarthost are pooled for that smarthost, not per recipient domain.
     */
    public static TlsRequirement smarthost(String host, TlsLevel level, boolean tlsRequired, CertChecks certs) {
        HostTls.Check check = switch (level) {
            case NONE -> HostTls.Check.NONE;
            case ENCRYPT -> HostTls.Check.ENCRYPT;
            case VERIFY -> HostTls.Check.PKIX;
            default -> HostTls.Check.MAY;
        };
        if (tlsRequired && (check == HostTls.Check.NONE || check == HostTls.Check.MAY)) {
            check = HostTls.Check.ENCRYPT;
        }
        String name = check == HostTls.Check.PKIX ? "verify" : check.name().toLowerCase(Locale.ROOT);
        return TlsRequirement.uniform("smarthost:" + host.toLowerCase(Locale.ROOT),
                HostTls.simple(check, name, "smarthost"), certs);
    }

    /** DANE for a host under a secure MX RRset; null when DANE does not apply to it (no secure TLSA records). */
    public static HostTls daneHost(String host, DaneLookup.HostTlsa t) {
        if (t == null || t.status() == DaneLookup.Status.INSECURE || t.status() == DaneLookup.Status.SECURE
                && t.records().isEmpty()) {
            return null;
        }
        HostTls dane = new HostTls(HostTls.Check.DANE, true, t.usable(), "dane", "dane", "tlsa", null, null, null, null,
                null);
        if (t.status() == DaneLookup.Status.BOGUS) { // RFC 7672 2.2.3: not this host, not in plaintext either
            return dane.refused("dnssec-invalid", "DNSSEC validation of the TLSA records of _25._tcp." + host
                    + " failed: " + t.detail());
        }
        if (t.usable().isEmpty()) { // RFC 7672 2.2: TLS required, authentication impossible
            return new HostTls(HostTls.Check.ENCRYPT, true, List.of(), "dane", "dane", "tlsa", null, null, null,
                    "no usable TLSA record for _25._tcp." + host + " (encrypting without authentication)", "tlsa-invalid");
        }
        return dane;
    }

    /** A host of a domain under MTA-STS (or without a policy). */
    public static HostTls stsHost(String domain, String host, MtaSts.Result sts, HostTls fallback) {
        if (!sts.active()) {
            return sts.failure() == null ? fallback : fallback.noted(sts.failure(), sts.detail());
        }
        boolean enforce = sts.policy().mode() == MtaStsPolicy.Mode.ENFORCE;
        HostTls t = new HostTls(HostTls.Check.PKIX, enforce, List.of(), "mta-sts-" + sts.policy().mode().configName(),
                "mta-sts", "sts", sts.id(), null, null, sts.failure(), sts.failure() == null ? null : sts.detail());
        if (!sts.policy().matches(host)) {
            String why = "MX host " + host + " does not match the MTA-STS policy of " + domain + " (mx: "
                    + String.join(", ", sts.policy().mx()) + ")";
            return enforce ? t.refused("validation-failure", why) : t.noted("validation-failure", why);
        }
        return t;
    }

    private static <T> CompletableFuture<T> done(T v) {
        return CompletableFuture.completedFuture(v);
    }
}
