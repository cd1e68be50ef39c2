package org.hermod.delivery.internal.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One TLSA record (RFC 6698) as DANE for SMTP uses it (RFC 7672).
 *
 * @param usage 2 = DANE-TA, 3 = DANE-EE (0 and 1, PKIX-TA/EE, are unusable for SMTP: RFC 7672 3.1.3)
 * @param selector 0 = the whole certificate, 1 = its SubjectPublicKeyInfo
 * @param matching 0 = exact, 1 = SHA-256, 2 = SHA-512
 * @param data the certificate association data
 */
public record Tlsa(int usage, int selector, int matching, byte[] data) {

    public static final int DANE_TA = 2;
    public static final int DANE_EE = 3;

    /** Whether RFC 7672 lets SMTP use it: usage 2 or 3, selector 0 or 1, matching 0, 1 or 2. */
    public boolean usable() {
        return (usage == DANE_TA || usage == DANE_EE) && (selector == 0 || selector == 1)
                && matching >= 0 && matching <= 2;
    }

    /** Whether the certificate matches this record's selector and matching type. */
    public boolean matches(X509Certificate cert) {
        try {
            byte[] selected = selector == 0 ? cert.getEncoded() : cert.getPublicKey().getEncoded();
            byte[] value = switch (matching) {
                case 0 -> selected;
                case 1 -> MessageDigest.getInstance("SHA-256").digest(selected);
                case 2 -> MessageDigest.getInstance("SHA-512").digest(selected);
                default -> null;
            };
            return value != null && MessageDigest.isEqual(value, data);
        } catch (CertificateEncodingException | NoSuchAlgorithmException e) {
            return false;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tlsa t && t.usage == usage && t.selector == selector && t.matching == matching
                && Arrays.equals(t.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * usage + selector) + matching) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return usage + " " + selector + " " + matching + " " + HexFormat.of().formatHex(data);
    }
}
