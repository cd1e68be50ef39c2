package org.hermod.dkim.internal;

import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Makes DKIM-Signature field values (RFC 6376 section 3.7, relaxed/relaxed) for a message's raw header fields and its
 * body hash. Stateless and thread-safe. The value is one line: the filter API adds header fields unfolded.
 */
final class DkimSigner {

    /** RFC 5322's line limit, which the added field "DKIM-Signature: value" must respect. */
    static final int MAX_LINE = 998;
    static final String FIELD = "DKIM-Signature";

    private DkimSigner() {
    }

    /**
     * The value of a DKIM-Signature field.
     *
     * @param headers the message's header fields, in order
     * @param bodyHash SHA-256 of the relaxed canonical body
     * @param key the key, domain and selector
     * @param h the h= names (see {@link HeaderPolicy#namesFor})
     * @param timestamp t= (seconds since the epoch)
     * @param expirySeconds x= is t= plus this; 0 for none
     */
    static String sign(List<RawHeader> headers, byte[] bodyHash, SigningKey key, List<String> h, long timestamp,
                       long expirySeconds) throws GeneralSecurityException {
        StringBuilder v = new StringBuilder(256);
        v.append("v=1; a=").append(key.algorithm().tag()).append("; c=relaxed/relaxed; d=").append(key.domain())
                .append("; s=").append(key.selector()).append("; t=").append(timestamp);
        if (expirySeconds > 0) {
            v.append("; x=").append(timestamp + expirySeconds);
        }
        v.append("; h=").append(String.join(":", h));
        v.append("; bh=").append(Base64.getEncoder().encodeToString(bodyHash));
        v.append("; b=");
        String unsigned = v.toString();
        byte[] data = headerData(headers, h, unsigned);
        return unsigned + Base64.getEncoder().encodeToString(key.algorithm().sign(key.key(), data));
    }

    /**
     * The header hash input (RFC 6376 section 3.7): the selected fields canonicalised, bottom-most instance first for
     * each name repeated in h=, then this signature's own field with an empty b= and no CRLF.
     *
     * @param signatureValue the DKIM-Signature value with {@code b=} empty
     */
    static byte[] headerData(List<RawHeader> headers, List<String> h, String signatureValue) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
        List<RawHeader> unused = new ArrayList<>(headers);
        for (String name : h) {
            for (int i = unused.size() - 1; i >= 0; i--) {
                if (unused.get(i).name().equalsIgnoreCase(name)) {
                    out.writeBytes(Relaxed.header(unused.remove(i)));
                    break;
                }
            }
        }
        out.writeBytes(Relaxed.headerWithoutCrlf(FIELD + ": " + signatureValue));
        return out.toByteArray();
    }
}
