package org.hermod.api.bounce;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Handles asynchronous bounces, complaints and auto-replies that arrive at the bounce domain. Thread-safe; never
 * throws on malformed input (the problem is reported in {@link BounceReport#error()}).
 */
@ProviderType
public interface BounceProcessor {

    /**
     * Parses and classifies the message, adds hard-bounced and complaining recipients to the suppression list and
     * writes one event per classification to the bounce event log.
     *
     * @param rawMessage the message as received (RFC 5322 bytes)
     * @param envelopeRecipient the RCPT TO address it arrived for (a VERP return path decodes to the original
     *        recipient and queue id), or null
     */
    BounceReport process(byte[] rawMessage, String envelopeRecipient);

    /** Like {@link #process} but without side effects (no suppression, no event): for tools and diagnostics. */
    BounceReport analyse(byte[] rawMessage, String envelopeRecipient);
}
