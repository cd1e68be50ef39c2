package org.hermod.smtp.internal;

import org.hermod.api.spool.Spool;

/**
 * What a session uses beyond its settings, shared by all sessions of a listener. {@code tls}, {@code auth} and
 * {@code recipients} may be null (no certificate available; no authenticator; no recipient map).
 */
record SessionServices(Spool spool, RecipientPolicy policy, ListenerMode mode, TlsCertificates tls, Authenticator auth,
                       ClientRates rates, RecipientMap recipients, SmtpEvents events, RecipientVerifier verifier) {
}
