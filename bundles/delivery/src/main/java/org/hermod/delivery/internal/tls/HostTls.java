package org.hermod.delivery.internal.tls;

import java.util.List;

/**
 * What TLS one MX host of a destination gets.
 *
 * @param check what is done: NONE (no STARTTLS), MAY (STARTTLS when offered), ENCRYPT (STARTTLS required), PKIX
 *     (certificate chained to the trust store and naming the host) or DANE (matching a TLSA record)
 * @param enforce whether a failed check stops the delivery (false in MTA-STS testing mode: recorded only)
 * @param tlsa the usable TLSA records for DANE
 * @param policy the policy name reported in events ({@code may}, {@code verify}, {@code mta-sts-enforce}, ...)
 * @param source where it came from ({@code map}, {@code default}, {@code dane}, {@code mta-sts})
 * @param policyType TLS-RPT policy type ({@code tlsa}, {@code sts}, {@code no-policy-found})
 * @param policyId the MTA-STS id, or null
 * @param refusal when not null, the host must not be used: why (TLS-RPT type in {@link #refusalType})
 * @param refusalType the TLS-RPT result type of the refusal
 * @param note a failure already known that does not stop delivery (testing mode, policy fetch error), or null
 * @param noteType its TLS-RPT result type
 */
public record HostTls(Check check, boolean enforce, List<Tlsa> tlsa, String policy, String source, String policyType,
                      String policyId, String refusal, String refusalType, String note, String noteType) {

    /** The check made on the connection. */
    public enum Check { NONE, MAY, ENCRYPT, PKIX, DANE }

    public HostTls {
        tlsa = List.copyOf(tlsa);
    }

    public static HostTls simple(Check check, String policy, String source) {
        return new HostTls(check, check != Check.NONE && check != Check.MAY, List.of(), policy, source,
                "no-policy-found", null, null, null, null, null);
    }

    /** Whether the connection must be encrypted (no plaintext fallback). */
    public boolean requiresTls() {
        return enforce && check != Check.NONE && check != Check.MAY;
    }

    /** Whether STARTTLS is attempted at all. */
    public boolean triesTls() {
        return check != Check.NONE;
    }

    public HostTls refused(String type, String why) {
        return new HostTls(check, enforce, tlsa, policy, source, policyType, policyId, why, type, note, noteType);
    }

    public HostTls noted(String type, String what) {
        return new HostTls(check, enforce, tlsa, policy, source, policyType, policyId, refusal, refusalType, what, type);
    }
}
