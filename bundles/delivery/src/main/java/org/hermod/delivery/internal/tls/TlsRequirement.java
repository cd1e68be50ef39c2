package org.hermod.delivery.internal.tls;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.hermod.api.SmtpReply;

/**
 * The TLS requirements of one delivery: per MX host what is checked and enforced, plus the certificate checks to use.
 * Immutable.
 *
 * @param domain the destination domain
 * @param hosts per MX host name (lower case)
 * @param fallback for hosts not in the map
 * @param refusal when not null, nothing may be sent to the destination now (e.g. its MX RRset failed DNSSEC
 *     validation): the reply to defer with
 * @param refusalType the TLS-RPT result type of the refusal
 * @param certs the PKIX trust anchors
 */
public record TlsRequirement(String domain, Map<String, HostTls> hosts, HostTls fallback, SmtpReply refusal,
                             String refusalType, CertChecks certs) {

    public TlsRequirement {
        hosts = Map.copyOf(hosts);
    }

    /** The same for every host, without peer checks (the levels none, may and encrypt). */
    public static TlsRequirement uniform(String domain, HostTls tls, CertChecks certs) {
        return new TlsRequirement(domain, Map.of(), tls, null, null, certs);
    }

    public HostTls forHost(String host) {
        HostTls h = hosts.get(host.toLowerCase(Locale.ROOT));
        return h != null ? h : fallback;
    }

    /**
     * The suffix of the connection pool key: connections are shared only between destinations whose requirements they
     * meet. Plain opportunistic ones share the path's key (suffix ""), encrypted unverified ones {@code #tls-required},
     * never-TLS ones {@code #tls-none}; connections authenticated for a destination (PKIX or DANE) serve only it.
     */
    public String poolKeySuffix() {
        boolean verified = fallback.check() == HostTls.Check.PKIX || fallback.check() == HostTls.Check.DANE
                || hosts.values().stream().anyMatch(h -> h.check() == HostTls.Check.PKIX || h.check() == HostTls.Check.DANE);
        if (verified) {
            return "#tls-verify:" + domain.toLowerCase(Locale.ROOT);
        }
        List<HostTls> all = new java.util.ArrayList<>(hosts.values());
        all.add(fallback);
        if (all.stream().anyMatch(HostTls::requiresTls)) {
            return "#tls-required";
        }
        if (all.stream().allMatch(h -> h.check() == HostTls.Check.NONE)) {
            return "#tls-none";
        }
        return "";
    }
}
