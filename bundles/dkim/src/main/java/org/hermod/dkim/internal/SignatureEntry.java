package org.hermod.dkim.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One configured signature: signing domain, selector, algorithm and key file. A domain may have several (one per
 * algorithm: an RSA and an Ed25519 signature side by side, RFC 8463 section 5).
 *
 * @param domain the signing domain (it also signs for its subdomains unless one has entries of its own)
 * @param selector the selector
 * @param algorithm the algorithm
 * @param keyFile the PKCS#8 PEM private key
 */
record SignatureEntry(String domain, String selector, DkimAlgorithm algorithm, Path keyFile) {

    /**
     * Parses {@code domain selector algorithm keyFile} entries separated by ';' (relative key files against
     * {@code keyDir}).
     *
     * @throws IllegalArgumentException naming the entry that is wrong
     */
    static List<SignatureEntry> parse(String spec, Path keyDir) {
        List<SignatureEntry> out = new ArrayList<>();
        if (spec == null) {
            return out;
        }
        for (String e : spec.split(";")) {
            if (e.isBlank()) {
                continue;
            }
            String[] p = e.strip().split("\\s+");
            if (p.length != 4) {
                throw new IllegalArgumentException("signature entry '" + e.strip()
                        + "': expected 'domain selector algorithm keyFile'");
            }
            String domain = SenderDomain.normalise(p[0]);
            if (domain == null || !domain.contains(".")) {
                throw new IllegalArgumentException("signature entry '" + e.strip() + "': bad domain " + p[0]);
            }
            if (!p[1].matches("[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")) {
                throw new IllegalArgumentException("signature entry '" + e.strip() + "': bad selector " + p[1]);
            }
            DkimAlgorithm alg = DkimAlgorithm.of(p[2]);
            Path f = Path.of(p[3]);
            out.add(new SignatureEntry(domain, p[1], alg, f.isAbsolute() ? f : keyDir.resolve(f)));
        }
        return out;
    }

    @Override
    public String toString() {
        return algorithm.tag() + " " + selector + "._domainkey." + domain + " (" + keyFile + ")";
    }
}
