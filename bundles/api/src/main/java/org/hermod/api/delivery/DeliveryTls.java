package org.hermod.api.delivery;

/**
 * The TLS outcome of one delivery attempt: what was negotiated, whether and how the peer was authenticated, which policy
 * applied and, when the policy's checks failed, why. The failure is named with the result types of TLS-RPT (RFC 8460
 * section 4.3) so that a later reporter can aggregate events per policy domain, policy type and failure type.
 *
 * @param protocol the negotiated protocol (e.g. {@code TLSv1.3}), or null when the session was not encrypted
 * @param cipher the negotiated cipher suite, or null when not encrypted
 * @param verified whether the peer's certificate was authenticated (by {@link #verification})
 * @param verification how the peer was authenticated: {@code pkix} (a trusted CA and the MX host name), {@code dane-ee}
 *     or {@code dane-ta} (a DNSSEC-validated TLSA record, RFC 7672), or {@code none}
 * @param policy the TLS policy that applied: {@code none}, {@code may}, {@code encrypt}, {@code verify}, {@code dane},
 *     {@code mta-sts-enforce} or {@code mta-sts-testing}
 * @param policySource where the policy came from: {@code map} (the per-destination policy map), {@code default}
 *     (the configured default), {@code dane} (TLSA records), {@code mta-sts} (the domain's published policy)
 * @param policyType the TLS-RPT policy type: {@code tlsa}, {@code sts} or {@code no-policy-found}
 * @param policyId the MTA-STS policy id (from the {@code _mta-sts} TXT record), or null
 * @param failure the TLS-RPT result type of a failed check (e.g. {@code certificate-host-mismatch},
 *     {@code starttls-not-supported}, {@code validation-failure}, {@code dnssec-invalid}), or null when none failed.
 *     In a testing mode the delivery went ahead anyway
 * @param failureDetail a human-readable explanation of the failure, or null
 */
public record DeliveryTls(String protocol, String cipher, boolean verified, String verification, String policy,
                          String policySource, String policyType, String policyId, String failure,
                          String failureDetail) {

    /** True when the session was encrypted. */
    public boolean encrypted() {
        return protocol != null;
    }
}
