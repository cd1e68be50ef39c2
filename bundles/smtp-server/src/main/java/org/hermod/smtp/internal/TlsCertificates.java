package org.hermod.smtp.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;

/**
 * The server certificate and key (PEM files in etc/) as a Netty {@link SslContext}: TLS 1.2 and 1.3 only, an explicit
 * cipher list ({@link #CIPHERS}), the JDK provider. When neither file exists on first start, a self-signed certificate
 * is generated and the fact is logged. {@link #reloadIfChanged()} (called from a background thread every few seconds)
 * builds a new context when either file changed and both have then stayed unchanged for one poll (a renewal caught
 * half-way is not loaded); the new key must sign a test value the new certificate verifies. Sessions always take the
 * current context; a broken or mismatched new pair keeps the previous one, and is retried at every poll (a key fixed by
 * chmod or chown changes only its ctime) with one error logged per pair of file times.
 */
final class TlsCertificates {

    private static final Logger LOG = LoggerFactory.getLogger(TlsCertificates.class);

    /** TLS 1.2: forward-secret ECDHE with AEAD ciphers only (no static RSA key exchange, no CBC). */
    static final List<String> TLS12_CIPHERS = List.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** The TLS 1.3 suites the JDK provides (all AEAD), then {@link #TLS12_CIPHERS}. */
    static final List<String> CIPHERS = ciphers();

    private static final Pattern CERT_PEM =
            Pattern.compile("-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+)-----END CERTIFICATE-----");
    private static final Pattern KEY_PEM =
            Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private final Path cert;
    private final Path key;
    private final String[] protocols;
    private volatile SslContext context;
    private volatile X509Certificate current;
    /** The file times of the pair in use, of the last poll, and of the last pair that could not be used. */
    private FileTime loadedCert;
    private FileTime loadedKey;
    private FileTime seenCert;
    private FileTime seenKey;
    private FileTime failedCert;
    private FileTime failedKey;
    private boolean missingLogged;

    TlsCertificates(Path cert, Path key, String hostname, List<String> protocols) {
        this.cert = cert;
        this.key = key;
        this.protocols = protocols.toArray(new String[0]);
        if (!Files.exists(cert) && !Files.exists(key)) {
            try {
                SelfSigned.write(cert, key, hostname);
                LOG.warn("No TLS certificate found: generated a SELF-SIGNED certificate for {} in {} (key {}). Clients"
                        + " that verify certificates will refuse it; replace both files with your own (they are"
                        + " reloaded when they change).", hostname, cert, key);
            } catch (IOException | GeneralSecurityException | RuntimeException | LinkageError e) {
                LOG.error("Could not generate a self-signed certificate in {}: STARTTLS and TLS listeners are off", cert,
                        e);
            }
        }
        reloadIfChanged();
    }

    private static List<String> ciphers() {
        List<String> out = new ArrayList<>();
        try {
            for (String s : SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites()) {
                // TLS 1.3 names carry no key exchange ("TLS_AES_128_GCM_SHA256"); the SCSV is no cipher
                if (s.startsWith("TLS_") && !s.contains("_WITH_") && !s.contains("SCSV")) {
                    out.add(s);
                }
            }
        } catch (GeneralSecurityException e) {
            out.addAll(List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"));
        }
        out.addAll(TLS12_CIPHERS);
        return List.copyOf(out);
    }

    /**
     * Re-reads the pair when either file changed since the pair in use was loaded, once both files have kept their
     * modification times for one poll (the first load happens at once).
     */
    synchronized void reloadIfChanged() {
        FileTime c;
        FileTime k;
        try {
            c = Files.getLastModifiedTime(cert);
            k = Files.getLastModifiedTime(key);
        } catch (IOException e) {
            if (!missingLogged) {
                LOG.error("TLS certificate {} or key {} missing: {}", cert, key,
                        context != null ? "keeping the loaded certificate" : "STARTTLS and TLS listeners are off");
                missingLogged = true;
            }
            seenCert = null;
            seenKey = null;
            return;
        }
        missingLogged = false;
        if (c.equals(loadedCert) && k.equals(loadedKey)) {
            seenCert = c;
            seenKey = k;
            return;
        }
        boolean stable = c.equals(seenCert) && k.equals(seenKey);
        seenCert = c;
        seenKey = k;
        if (context != null && !stable) {
            LOG.debug("TLS certificate {} or key {} changed; loading them when they stay unchanged for one poll", cert,
                    key);
            return;
        }
        try {
            Loaded l = load();
            context = l.context();
            current = l.certificate();
            loadedCert = c;
            loadedKey = k;
            failedCert = null;
            failedKey = null;
            LOG.info("TLS certificate loaded from {} ({}): {}", cert, String.join(", ", protocols),
                    l.certificate().getSubjectX500Principal());
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (c.equals(failedCert) && k.equals(failedKey)) {
                LOG.debug("TLS certificate {} with key {} still unusable: {}", cert, key, e.toString());
            } else {
                LOG.error("Cannot use TLS certificate {} with key {} ({}); {}; retrying every poll", cert, key,
                        e.getMessage(), context != null ? "keeping the previous one" : "STARTTLS and TLS listeners are off",
                        e);
            }
            failedCert = c;
            failedKey = k;
        }
    }

    private record Loaded(SslContext context, X509Certificate certificate) {
    }

    /** Reads both files, checks that the key belongs to the certificate, and builds the context. */
    private Loaded load() throws IOException, GeneralSecurityException {
        String certText = Files.readString(cert, StandardCharsets.US_ASCII);
        String keyText = Files.readString(key, StandardCharsets.US_ASCII);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> chain = new ArrayList<>();
        Matcher m = CERT_PEM.matcher(certText);
        while (m.find()) {
            chain.add((X509Certificate) cf.generateCertificate(
                    new ByteArrayInputStream(Base64.getMimeDecoder().decode(m.group(1)))));
        }
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("no PEM certificate in " + cert);
        }
        Matcher km = KEY_PEM.matcher(keyText);
        if (!km.find()) {
            throw new GeneralSecurityException("no unencrypted PKCS#8 key (BEGIN PRIVATE KEY) in " + key
                    + "; convert it with: openssl pkcs8 -topk8 -nocrypt");
        }
        X509Certificate leaf = chain.get(0);
        String alg = leaf.getPublicKey().getAlgorithm();
        PrivateKey pk = KeyFactory.getInstance(alg)
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(km.group(1))));
        if (!matches(pk, leaf)) {
            throw new GeneralSecurityException("the key in " + key + " does not belong to the certificate in " + cert);
        }
        SslContext ctx = SslContextBuilder.forServer(pk, chain.toArray(new X509Certificate[0]))
                .sslProvider(SslProvider.JDK)
                .protocols(protocols)
                .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .build();
        return new Loaded(ctx, leaf);
    }

    /** Whether a value signed with the key verifies with the certificate's public key. */
    static boolean matches(PrivateKey pk, X509Certificate c) throws GeneralSecurityException {
        String alg = switch (Objects.requireNonNull(c.getPublicKey().getAlgorithm())) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "DSA" -> "SHA256withDSA";
            case "EdDSA", "Ed25519" -> "Ed25519";
            case "Ed448" -> "Ed448";
            case "RSASSA-PSS" -> "RSASSA-PSS";
            default -> throw new GeneralSecurityException("unsupported key type " + c.getPublicKey().getAlgorithm());
        };
        if (alg.equals("Ed25519") && pk.getAlgorithm().equals("Ed448")) {
            alg = "Ed448";
        }
        byte[] probe = new byte[32];
        new SecureRandom().nextBytes(probe);
        Signature s = Signature.getInstance(alg);
        if (alg.equals("RSASSA-PSS")) {
            s.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                    java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
        }
        s.initSign(pk);
        s.update(probe);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance(alg);
        if (alg.equals("RSASSA-PSS")) {
            v.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                    java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
        }
        v.initVerify(c.getPublicKey());
        v.update(probe);
        return v.verify(sig);
    }

    /** Whether a certificate is loaded. */
    boolean available() {
        return context != null;
    }

    /** The certificate in use (the chain's first), null when none is loaded. */
    X509Certificate certificate() {
        return current;
    }

    /** A handler for a new server-side TLS session; null when no certificate is loaded. */
    SslHandler newHandler(ByteBufAllocator alloc) {
        SslContext c = context;
        return c == null ? null : c.newHandler(alloc);
    }
}
