package org.hermod.dkim.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

import org.hermod.api.Envelope;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.MessageData;
import org.hermod.api.filter.SessionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether and how a message is signed and makes the signatures: the From: domain (or the envelope sender's,
 * when so configured) picks the keys, the raw content is canonicalised and hashed, one DKIM-Signature field per key.
 * A signature that cannot be made defers the message (451 4.3.0) unless the policy says to pass it unsigned.
 * Immutable and thread-safe; a new one is made for each configuration.
 */
final class MessageSigner {

    private static final Logger LOG = LoggerFactory.getLogger(MessageSigner.class);

    /** What the client is told when signing fails; details go to the log only. */
    static final String DEFER_TEXT = "DKIM signing temporarily unavailable, try again later";

    private final KeyRing keys;
    private final HeaderPolicy headers;
    private final SigningClients clients;
    private final boolean envelopeFallback;
    private final long expirySeconds;
    private final boolean deferOnFailure;

    MessageSigner(KeyRing keys, HeaderPolicy headers, SigningClients clients, boolean envelopeFallback,
                  long expirySeconds, boolean deferOnFailure) {
        this.keys = keys;
        this.headers = headers;
        this.clients = clients;
        this.envelopeFallback = envelopeFallback;
        this.expirySeconds = Math.max(0, expirySeconds);
        this.deferOnFailure = deferOnFailure;
    }

    /**
     * The decision for one message: proceed with the DKIM-Signature fields added, proceed unchanged (not our domain,
     * not a signing client), or defer.
     *
     * @param nowSeconds the signing time (t=)
     */
    FilterDecision sign(SessionInfo session, Envelope envelope, MessageData message, long nowSeconds)
            throws IOException {
        if (!clients.signs(session)) {
            return FilterDecision.proceed();
        }
        List<RawHeader> fields;
        byte[] bodyHash;
        try (InputStream content = message.content()) {
            PushbackInputStream in = HeaderSection.pushback(content);
            fields = HeaderSection.read(in);
            if (fields.stream().filter(f -> f.name().equalsIgnoreCase("From")).count() > 1) {
                // RFC 5322 allows one From: field; receivers applying DMARC reject more, and which one a signature
                // speaks for would be ambiguous: such mail is passed on unsigned
                LOG.info("DKIM: session {}: not signed: the message has more than one From: field", id(session));
                return FilterDecision.proceed();
            }
            String domain = SenderDomain.ofFrom(fields);
            List<KeyRing.Slot> slots = domain == null ? List.of() : keys.forDomain(domain);
            if (slots.isEmpty() && envelopeFallback && envelope != null && !envelope.sender().isNullSender()) {
                String d = SenderDomain.normalise(envelope.sender().domain());
                slots = d == null ? List.of() : keys.forDomain(d);
            }
            if (slots.isEmpty()) {
                return FilterDecision.proceed();
            }
            List<KeyRing.Slot> broken = slots.stream().filter(s -> !s.usable()).toList();
            if (!broken.isEmpty()) {
                String why = broken.get(0).entry() + ": " + broken.get(0).error();
                if (deferOnFailure) {
                    return fail(session, why);
                }
                LOG.warn("DKIM: session {}: signing without {}", id(session), why);
                slots = slots.stream().filter(KeyRing.Slot::usable).toList();
                if (slots.isEmpty()) {
                    return FilterDecision.proceed();
                }
            }
            bodyHash = RelaxedBodyDigest.of(in);
            return signWith(session, slots, fields, bodyHash, nowSeconds);
        }
    }

    private FilterDecision signWith(SessionInfo session, List<KeyRing.Slot> slots, List<RawHeader> fields,
                                    byte[] bodyHash, long now) {
        List<String> h = headers.namesFor(fields);
        List<String> values = new ArrayList<>();
        for (KeyRing.Slot s : slots) {
            try {
                String v = DkimSigner.sign(fields, bodyHash, s.key(), h, now, expirySeconds);
                int line = DkimSigner.FIELD.length() + 2 + v.length();
                if (line > DkimSigner.MAX_LINE) {
                    throw new GeneralSecurityException("the signature field would be " + line
                            + " octets long, over RFC 5322's 998 (a shorter key or fewer signed header fields)");
                }
                values.add(v);
            } catch (GeneralSecurityException | RuntimeException e) {
                String why = s.entry() + ": " + e.getMessage();
                if (deferOnFailure) {
                    return fail(session, why);
                }
                LOG.warn("DKIM: session {}: signing without {}", id(session), why);
            }
        }
        FilterDecision d = FilterDecision.proceed();
        for (String v : values) {
            d = d.withHeaderAdded(DkimSigner.FIELD, v);
        }
        return d;
    }

    private static FilterDecision fail(SessionInfo session, String why) {
        LOG.warn("DKIM: session {}: message deferred with 451 4.3.0, cannot sign with {}", id(session), why);
        return FilterDecision.defer(451, "4.3.0", DEFER_TEXT);
    }

    private static String id(SessionInfo s) {
        return s == null ? "-" : s.sessionId();
    }
}
