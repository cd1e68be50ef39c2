package org.hermod.delivery.internal.tls;

import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Authenticates an SMTP server's chain with its usable TLSA records (RFC 7672 3.1): DANE-EE(3) matches the leaf
 * certificate or key, with no name and no expiry check; DANE-TA(2) matches a certificate of the chain, which then
 * serves as the only trust anchor for a PKIX check of the rest, and the leaf must name the MX host or the destination
 * domain. A trust anchor published as a bare public key (2 1 0) that the server does not send is not supported.
 */
public final class DaneVerifier {

    private DaneVerifier() {
    }

    /**
     * The result: the method that authenticated the peer ({@code dane-ee} or {@code dane-ta}), or a failure.
     */
    public record Result(String method, CertChecks.Failure failure) {

        public boolean ok() {
            return failure == null;
        }
    }

    /**
     * @param chain the peer's chain, leaf first
     * @param records the host's usable TLSA records
     * @param names the reference identifiers: the MX host name (and the destination domain)
     */
    public static Result verify(X509Certificate[] chain, List<Tlsa> records, List<String> names) {
        if (chain == null || chain.length == 0) {
            return new Result(null, new CertChecks.Failure("validation-failure", "no peer certificate"));
        }
        for (Tlsa t : records) {
            if (t.usable() && t.usage() == Tlsa.DANE_EE && t.matches(chain[0])) {
                return new Result("dane-ee", null);
            }
        }
        String taFailure = null;
        for (Tlsa t : records) {
            if (!t.usable() || t.usage() != Tlsa.DANE_TA) {
                continue;
            }
            for (int i = 0; i < chain.length; i++) {
                if (!t.matches(chain[i])) {
                    continue;
                }
                if (i == 0) { // the leaf itself published as a trust anchor: a self-issued server certificate
                    if (CertChecks.matchesHost(chain[0], names)) {
                        return new Result("dane-ta", null);
                    }
                    taFailure = "the certificate does not name " + names;
                    continue;
                }
                CertChecks.Failure f = CertChecks.path(Arrays.copyOf(chain, i),
                        Set.of(new TrustAnchor(chain[i], null)));
                if (f != null) {
                    taFailure = "chain to the TLSA trust anchor invalid: " + f.detail();
                } else if (!CertChecks.matchesHost(chain[0], names)) {
                    taFailure = "certificate " + chain[0].getSubjectX500Principal().getName() + " does not name any of "
                            + names;
                } else {
                    return new Result("dane-ta", null);
                }
            }
        }
        return new Result(null, new CertChecks.Failure("validation-failure", taFailure != null
                ? "DANE: " + taFailure : "DANE: no TLSA record matches the certificate chain of " + names.get(0)));
    }
}
