package org.hermod.dkim.internal;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.util.Locale;

/**
 * The two signing algorithms Hermod offers: {@code rsa-sha256} (RFC 6376) and {@code ed25519-sha256} (RFC 8463,
 * PureEdDSA over the SHA-256 hash of the canonical header data). Both come from the JDK.
 */
enum DkimAlgorithm {

    RSA_SHA256("rsa-sha256", "RSA", "rsa"),
    ED25519_SHA256("ed25519-sha256", "Ed25519", "ed25519");

    private final String tag;
    private final String keyAlgorithm;
    private final String keyType;

    DkimAlgorithm(String tag, String keyAlgorithm, String keyType) {
        this.tag = tag;
        this.keyAlgorithm = keyAlgorithm;
        this.keyType = keyType;
    }

    /** The value of the a= tag. */
    String tag() {
        return tag;
    }

    /** The JCA key algorithm name ({@code RSA}, {@code Ed25519}). */
    String keyAlgorithm() {
        return keyAlgorithm;
    }

    /** The k= value of the DNS key record. */
    String keyType() {
        return keyType;
    }

    /** Signs the canonical header data (the hash input of RFC 6376 section 3.7). */
    byte[] sign(PrivateKey key, byte[] headerData) throws GeneralSecurityException {
        Signature s;
        byte[] input;
        if (this == RSA_SHA256) {
            s = Signature.getInstance("SHA256withRSA");
            input = headerData;
        } else {
            s = Signature.getInstance("Ed25519");
            input = MessageDigest.getInstance("SHA-256").digest(headerData);
        }
        s.initSign(key);
        s.update(input);
        return s.sign();
    }

    /** By a= name ({@code rsa-sha256}, {@code ed25519-sha256}; also {@code rsa}, {@code ed25519}). */
    static DkimAlgorithm of(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        for (DkimAlgorithm a : values()) {
            if (a.tag.equals(n) || a.keyType.equals(n)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown DKIM algorithm '" + name + "' (rsa-sha256 or ed25519-sha256)");
    }
}
