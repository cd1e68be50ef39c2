package org.hermod.delivery.internal.tls;

import java.util.Locale;

/**
 * The TLS policy levels of the per-destination policy map ({@code etc/hermod-tls-policy.map}) and of
 * {@code tls.defaultPolicy}, after Postfix's {@code smtp_tls_security_level}.
 */
public enum TlsLevel {
    /** Never STARTTLS. */
    NONE("none"),
    /** STARTTLS when offered, certificate not checked; plaintext when not offered or when the handshake fails. */
    MAY("may"),
    /** STARTTLS required (4.7.5 otherwise), certificate not checked. */
    ENCRYPT("encrypt"),
    /** STARTTLS required and the certificate must chain to the trust store and name the MX host (PKIX). */
    VERIFY("verify"),
    /** DANE when the MX and TLSA records are DNSSEC-secure, else {@link #MAY}. */
    DANE("dane"),
    /** DANE required: no secure TLSA records is a temporary failure. */
    DANE_ONLY("dane-only"),
    /** The domain's MTA-STS policy when it publishes one, else {@link #MAY}. */
    MTA_STS("mta-sts"),
    /** DANE for MX hosts with secure TLSA records, else the domain's MTA-STS policy, else {@link #MAY}. */
    AUTO("auto");

    private final String configName;

    TlsLevel(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    public boolean usesDane() {
        return this == DANE || this == DANE_ONLY || this == AUTO;
    }

    public boolean usesMtaSts() {
        return this == MTA_STS || this == AUTO;
    }

    /** @throws IllegalArgumentException naming the valid levels */
    public static TlsLevel parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        for (TlsLevel l : values()) {
            if (l.configName.equals(v)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown TLS policy '" + s.trim()
                + "' (none, may, encrypt, verify, dane, dane-only, mta-sts, auto)");
    }

    @Override
    public String toString() {
        return configName;
    }
}
