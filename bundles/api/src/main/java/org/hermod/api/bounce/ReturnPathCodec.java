package org.hermod.api.bounce;

import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * VERP: encodes the queue id and original recipient into a signed return path on the bounce domain, e.g.
 * {@code b-<queueid>-<hex of recipient>-<hmac8>@bounces.example.com}, and decodes it again. Thread-safe.
 */
@ProviderType
public interface ReturnPathCodec {

    /** The return path to use as MAIL FROM for this message and recipient. */
    String encode(String queueId, String recipient);

    /** The decoded return path, or empty when it is not one of ours or its signature does not verify. */
    Optional<Decoded> decode(String returnPath);

    /** The domain that return paths are made on. */
    String bounceDomain();

    /**
     * @param queueId the queue id of the original message
     * @param recipient the original recipient
     */
    record Decoded(String queueId, String recipient) {
    }
}
