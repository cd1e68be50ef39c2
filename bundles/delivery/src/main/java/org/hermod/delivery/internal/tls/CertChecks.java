package org.hermod.delivery.internal.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * Peer certificate checks: PKIX validation against a set of trust anchors (the JDK's trust store, or a PEM file of CA
 * certificates) and the RFC 6125 host name match (DNS subject alternative names; a wildcard only as the whole leftmost
 * label; the subject CN only when there is no DNS name). Revocation is not checked (as for SMTP in general). Immutable.
 */
public final class CertChecks {

    private final Set<TrustAnchor> anchors;
    private final KeyStore store;

    private CertChecks(Set<TrustAnchor> anchors, KeyStore store) {
        this.anchors = Set.copyOf(anchors);
        this.store = store;
    }

    /** The JDK's default trust store ({@code cacerts}) when {@code pemFile} is null or blank, else the PEM file's CAs. */
    public static CertChecks load(String pemFile) throws IOException, GeneralSecurityException {
        if (pemFile == null || pemFile.isBlank()) {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            Set<TrustAnchor> anchors = new HashSet<>();
            for (var tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    for (X509Certificate c : x.getAcceptedIssuers()) {
                        anchors.add(new TrustAnchor(c, null));
                    }
                }
            }
            return new CertChecks(anchors, null);
        }
        return of(readPem(Path.of(pemFile.trim())));
    }

    /** Trusting exactly these CA certificates. */
    public static CertChecks of(Collection<X509Certificate> cas) throws GeneralSecurityException {
        if (cas.isEmpty()) {
            throw new GeneralSecurityException("no CA certificate");
        }
        Set<TrustAnchor> anchors = new HashSet<>();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try {
            ks.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        int i = 0;
        for (X509Certificate c : cas) {
            anchors.add(new TrustAnchor(c, null));
            ks.setCertificateEntry("ca" + i++, c);
        }
        return new CertChecks(anchors, ks);
    }

    /** The certificates of a PEM file. */
    public static List<X509Certificate> readPem(Path file) throws IOException, GeneralSecurityException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (var c : cf.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)))) {
            out.add((X509Certificate) c);
        }
        if (out.isEmpty()) {
            throw new GeneralSecurityException("no certificate in " + file);
        }
        return out;
    }

    /** A client context trusting the same anchors (for the MTA-STS policy fetch). */
    public SSLContext clientContext() throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    public int anchorCount() {
        return anchors.size();
    }

    /**
     * Checks the chain (leaf first) against the trust anchors and the leaf against {@code host}.
     *
     * @return null when valid, else the failure: a {@link Failure} with its TLS-RPT type
     */
    public Failure pkix(X509Certificate[] chain, String host) {
        Failure f = path(chain, anchors);
        if (f != null) {
            return f;
        }
        return matchesHost(chain[0], List.of(host)) ? null : new Failure("certificate-host-mismatch",
                "certificate " + chain[0].getSubjectX500Principal().getName() + " " + names(chain[0])
                        + " does not name " + host);
    }

    /** A failed check with its TLS-RPT result type. */
    public record Failure(String type, String detail) {
    }

    /** PKIX validation of the chain to one of the anchors (no name check, no revocation). */
    static Failure path(X509Certificate[] chain, Set<TrustAnchor> anchors) {
        if (chain == null || chain.length == 0) {
            return new Failure("certificate-not-trusted", "no peer certificate");
        }
        List<X509Certificate> certs = new ArrayList<>(Arrays.asList(chain));
        // a trust anchor sent along by the peer is not part of the path
        while (certs.size() > 1 && isAnchor(certs.get(certs.size() - 1), anchors)) {
            certs.remove(certs.size() - 1);
        }
        try {
            PKIXParameters p = new PKIXParameters(anchors);
            p.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(certs), p);
            return null;
        } catch (java.security.cert.CertPathValidatorException e) {
            String type = e.getReason() == java.security.cert.CertPathValidatorException.BasicReason.EXPIRED
                    || e.getReason() == java.security.cert.CertPathValidatorException.BasicReason.NOT_YET_VALID
                    ? "certificate-expired" : "certificate-not-trusted";
            return new Failure(type, "certificate " + chain[0].getSubjectX500Principal().getName() + " not trusted: "
                    + e.getMessage());
        } catch (GeneralSecurityException e) {
            return new Failure("validation-failure", "certificate check failed: " + e.getMessage());
        }
    }

    private static boolean isAnchor(X509Certificate c, Set<TrustAnchor> anchors) {
        for (TrustAnchor a : anchors) {
            if (c.equals(a.getTrustedCert())) {
                return true;
            }
        }
        return false;
    }

    /** Whether the certificate names one of the hosts (RFC 6125 6.4). */
    public static boolean matchesHost(X509Certificate cert, List<String> hosts) {
        List<String> names = dnsNames(cert);
        for (String h : hosts) {
            for (String n : names) {
                if (HostPatterns.matches(n, h)) {
                    return true;
                }
            }
        }
        return false;
    }

    static List<String> dnsNames(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(2).equals(san.get(0)) && san.get(1) instanceof String s) {
                        out.add(s.toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (java.security.cert.CertificateParsingException e) {
            return out;
        }
        if (out.isEmpty()) { // no DNS names: the CN (RFC 6125 6.4.4)
            String dn = cert.getSubjectX500Principal().getName(X500Principal.RFC2253);
            for (String rdn : dn.split(",")) {
                if (rdn.regionMatches(true, 0, "CN=", 0, 3)) {
                    out.add(rdn.substring(3).toLowerCase(Locale.ROOT));
                }
            }
        }
        return out;
    }

    private static String names(X509Certificate c) {
        return dnsNames(c).toString();
    }
}
