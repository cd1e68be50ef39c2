package org.hermod.dkim.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * Reads unencrypted PKCS#8 PEM private keys ({@code -----BEGIN PRIVATE KEY-----}, what {@code openssl genpkey}
 * writes) for RSA and Ed25519, and derives the public key's DNS record from them. Errors say what to do.
 */
final class PemKeys {

    private static final String BEGIN = "-----BEGIN PRIVATE KEY-----";
    private static final String END = "-----END PRIVATE KEY-----";

    private PemKeys() {
    }

    /** Loads the key and checks that it fits the algorithm. */
    static SigningKey load(Path file, String domain, String selector, DkimAlgorithm algorithm)
            throws IOException, GeneralSecurityException {
        PrivateKey key = parse(Files.readString(file, StandardCharsets.US_ASCII), algorithm);
        return new SigningKey(domain, selector, algorithm, key, dnsRecord(key, algorithm));
    }

    static PrivateKey parse(String pem, DkimAlgorithm algorithm) throws GeneralSecurityException {
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            throw new GeneralSecurityException("PKCS#1 RSA key: convert it to PKCS#8 with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in old.pem -out new.pem'");
        }
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new GeneralSecurityException("encrypted PKCS#8 key: store it unencrypted (readable by Hermod only): "
                    + "'openssl pkcs8 -topk8 -nocrypt -in enc.pem -out plain.pem'");
        }
        int b = pem.indexOf(BEGIN);
        int e = pem.indexOf(END);
        if (b < 0 || e < b) {
            throw new GeneralSecurityException("no '" + BEGIN + "' block (make one with 'openssl genpkey')");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(b + BEGIN.length(), e));
        } catch (IllegalArgumentException x) {
            throw new GeneralSecurityException("the PEM block is not valid base64", x);
        }
        PrivateKey key;
        try {
            key = KeyFactory.getInstance(algorithm.keyAlgorithm()).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException x) {
            throw new GeneralSecurityException("not a " + algorithm.keyAlgorithm() + " key, as " + algorithm.tag()
                    + " needs (" + x.getMessage() + ")", x);
        }
        if (algorithm == DkimAlgorithm.RSA_SHA256 && key instanceof RSAPrivateCrtKey rsa
                && rsa.getModulus().bitLength() < 1024) {
            throw new GeneralSecurityException("RSA key of " + rsa.getModulus().bitLength()
                    + " bits: verifiers ignore keys under 1024 bits (RFC 8301); use 2048");
        }
        return key;
    }

    /** The TXT record value for the key's public half. */
    static String dnsRecord(PrivateKey key, DkimAlgorithm algorithm) throws GeneralSecurityException {
        byte[] p;
        if (algorithm == DkimAlgorithm.RSA_SHA256) {
            if (!(key instanceof RSAPrivateCrtKey rsa)) {
                throw new GeneralSecurityException("the RSA key has no public exponent (not a CRT key)");
            }
            PublicKey pub = KeyFactory.getInstance("RSA")
                    .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
            p = pub.getEncoded(); // SubjectPublicKeyInfo, as RFC 6376 section 3.6.1 asks
        } else {
            p = ed25519Public((EdECPrivateKey) key);
        }
        return "v=DKIM1; k=" + algorithm.keyType() + "; p=" + Base64.getEncoder().encodeToString(p);
    }

    /**
     * The raw 32-byte public key (RFC 8463 section 4.2: p= is the bare key, not SubjectPublicKeyInfo). The JDK has no
     * public-from-private call for EdDSA; its key pair generator derives the pair from 32 random bytes, so it is fed
     * the private key's bytes.
     */
    private static byte[] ed25519Public(EdECPrivateKey key) throws GeneralSecurityException {
        byte[] seed = key.getBytes().orElseThrow(() -> new GeneralSecurityException("Ed25519 key without bytes"));
        KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
        g.initialize(NamedParameterSpec.ED25519, new FixedBytes(seed));
        byte[] spki = g.generateKeyPair().getPublic().getEncoded();
        return Arrays.copyOfRange(spki, spki.length - 32, spki.length);
    }

    /** A "random" source that returns the given bytes (for deriving the Ed25519 public key only). */
    private static final class FixedBytes extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final byte[] bytes;

        FixedBytes(byte[] bytes) {
            this.bytes = bytes.clone();
        }

        @Override
        public void nextBytes(byte[] out) {
            if (out.length != bytes.length) {
                throw new IllegalStateException("unexpected request for " + out.length + " bytes");
            }
            System.arraycopy(bytes, 0, out, 0, out.length);
        }
    }
}
