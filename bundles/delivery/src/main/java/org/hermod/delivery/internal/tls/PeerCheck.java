package org.hermod.delivery.internal.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import org.hermod.api.delivery.DeliveryTls;

/**
 * Checks an established TLS session against what a host's policy asks ({@link HostTls}) and describes the outcome for
 * the delivery event. The handshake itself accepts any certificate; the decision is taken here, after the handshake
 * and before anything but EHLO is sent, so that a testing-mode failure can be recorded and the delivery go ahead.
 */
public final class PeerCheck {

    private PeerCheck() {
    }

    /**
     * @param verified whether the peer was authenticated
     * @param method {@code pkix}, {@code dane-ee}, {@code dane-ta} or {@code none}
     * @param failure the failed check, or null
     */
    public record Verdict(boolean verified, String method, CertChecks.Failure failure) {
    }

    /** Checks the session's peer chain as the host's policy asks. */
    public static Verdict check(HostTls ht, SSLSession session, String host, String domain, CertChecks certs) {
        if (ht.check() != HostTls.Check.PKIX && ht.check() != HostTls.Check.DANE) {
            return new Verdict(false, "none", null);
        }
        X509Certificate[] chain;
        try {
            Certificate[] peer = session.getPeerCertificates();
            chain = new X509Certificate[peer.length];
            for (int i = 0; i < peer.length; i++) {
                chain[i] = (X509Certificate) peer[i];
            }
        } catch (SSLPeerUnverifiedException | ClassCastException e) {
            return new Verdict(false, "none", new CertChecks.Failure("validation-failure", "no peer certificate"));
        }
        if (ht.check() == HostTls.Check.DANE) {
            DaneVerifier.Result r = DaneVerifier.verify(chain, ht.tlsa(),
                    domain == null || domain.isEmpty() ? List.of(host) : List.of(host, domain));
            return r.ok() ? new Verdict(true, r.method(), null) : new Verdict(false, "none", r.failure());
        }
        if (certs == null) {
            return new Verdict(false, "none", new CertChecks.Failure("validation-failure", "no trust store loaded"));
        }
        CertChecks.Failure f = certs.pkix(chain, host);
        return f == null ? new Verdict(true, "pkix", null) : new Verdict(false, "none", f);
    }

    /**
     * The outcome for the event.
     *
     * @param session the TLS session, or null when the connection stayed in plaintext
     * @param verdict the check, or null when none was made
     * @param failureType a failure found outside the certificate check (e.g. {@code starttls-not-supported}), or null
     */
    public static DeliveryTls outcome(HostTls ht, SSLSession session, Verdict verdict, String failureType,
                                      String detail) {
        String type = failureType;
        String why = detail;
        if (type == null && verdict != null && verdict.failure() != null) {
            type = verdict.failure().type();
            why = verdict.failure().detail();
        }
        if (type == null && ht.refusal() != null) {
            type = ht.refusalType();
            why = ht.refusal();
        }
        if (type == null && ht.note() != null) {
            type = ht.noteType();
            why = ht.note();
        }
        return new DeliveryTls(session == null ? null : session.getProtocol(),
                session == null ? null : session.getCipherSuite(), verdict != null && verdict.verified(),
                verdict == null ? "none" : verdict.method(), ht.policy(), ht.source(), ht.policyType(), ht.policyId(),
                type, why);
    }
}
