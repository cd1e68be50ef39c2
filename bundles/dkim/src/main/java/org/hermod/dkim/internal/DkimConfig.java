package org.hermod.dkim.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of DKIM signing (PID {@code org.hermod.dkim}, file {@code etc/org.hermod.dkim.cfg}); changes apply
 * live, and key files are re-read when they change.
 */
@ObjectClassDefinition(name = "Hermod DKIM signing",
        description = "Signatures per sending domain (selector, algorithm, key file), signed header fields, policy")
public @interface DkimConfig {

    @AttributeDefinition(description = "Signatures, separated by ';': domain selector algorithm keyFile "
            + "(algorithm rsa-sha256 or ed25519-sha256; keyFile a PKCS#8 PEM, relative to keyDirectory). Two entries "
            + "for one domain give two signatures. A domain's entries also sign for its subdomains that have none")
    String signatures() default "";

    @AttributeDefinition(description = "Where relative key files are. Empty: ${karaf.etc}/dkim")
    String keyDirectory() default "";

    @AttributeDefinition(description = "Sign with the envelope sender's domain when the From: domain has no "
            + "signature configured")
    boolean envelopeSenderFallback() default false;

    @AttributeDefinition(description = "Header fields signed (every instance present), comma-separated; From is "
            + "always included")
    String signedHeaders() default HeaderPolicy.DEFAULT_SIGNED;

    @AttributeDefinition(description = "Header fields over-signed when present (listed once more in h=, so a copy "
            + "added later breaks the signature); From is always over-signed")
    String oversignedHeaders() default HeaderPolicy.DEFAULT_OVERSIGNED;

    @AttributeDefinition(description = "Signature lifetime in seconds (x= tag); 0: no expiry")
    long expirySeconds() default 0;

    @AttributeDefinition(description = "When a configured signature cannot be made (key missing or unreadable): "
            + "defer (451 4.3.0, the client retries; mail never leaves unsigned against policy) or unsigned "
            + "(accept, sign with the keys that work, log)")
    String onKeyFailure() default "defer";

    @AttributeDefinition(description = "Whose mail is signed, comma-separated: 'authenticated' (SMTP AUTH) and IP "
            + "networks. Locally generated mail (DSNs) is always signed")
    String signClients() default "authenticated, 127.0.0.0/8, ::1";

    @AttributeDefinition(description = "How often key files are checked for changes, in milliseconds")
    long keyPollMillis() default 2000;
}
