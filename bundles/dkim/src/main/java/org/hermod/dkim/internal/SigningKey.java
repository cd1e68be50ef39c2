package org.hermod.dkim.internal;

import java.security.PrivateKey;
import java.util.Objects;

/**
 * A loaded private key for one signature: signing domain (d=), selector (s=) and algorithm, and the public key's DNS
 * record (what the operator publishes at {@code selector._domainkey.domain}).
 *
 * @param domain the signing domain, lower case
 * @param selector the selector
 * @param algorithm the algorithm the key is for
 * @param key the private key
 * @param dnsRecord the TXT record value, e.g. {@code v=DKIM1; k=ed25519; p=...}
 */
record SigningKey(String domain, String selector, DkimAlgorithm algorithm, PrivateKey key, String dnsRecord) {

    SigningKey {
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(key, "key");
    }

    /** Where the public key is looked up. */
    String dnsName() {
        return selector + "._domainkey." + domain;
    }

    @Override
    public String toString() {
        return algorithm.tag() + " " + dnsName();
    }
}
