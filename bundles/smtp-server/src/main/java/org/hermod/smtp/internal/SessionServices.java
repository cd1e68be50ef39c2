package org.hermod.smtp.internal;

import java.util.function.Supplier;

import org.hermod.api.filter.FilterChain;
import org.hermod.api.spool.Spool;

/**
 * What a session uses beyond its settings, shared by all sessions of a listener. {@code tls}, {@code auth},
 * {@code recipients}, {@code verifier} and {@code directory} may be null (no certificate available; no authenticator;
 * no recipient map; no callout; no LDAP lookup). {@code filters} hands out the routing filter chain in force, or null
 * while no routing bundle is installed; {@code listener} names the listener for filters and logs.
 */
record SessionServices(Spool spool, RecipientPolicy policy, ListenerMode mode, TlsCertificates tls, Authenticator auth,
                       ClientRates rates, RecipientMap recipients, SmtpEvents events, RecipientVerifier verifier,
                       RecipientDirectory directory, Supplier<FilterChain> filters, String listener,
                       SpoolHealth spoolHealth) {

    /** No filters. */
    static final Supplier<FilterChain> NO_FILTERS = () -> null;

    /** Without LDAP and filters, on the default listener (tests). */
    SessionServices(Spool spool, RecipientPolicy policy, ListenerMode mode, TlsCertificates tls, Authenticator auth,
                    ClientRates rates, RecipientMap recipients, SmtpEvents events, RecipientVerifier verifier) {
        this(spool, policy, mode, tls, auth, rates, recipients, events, verifier, null, NO_FILTERS, "default",
                new SpoolHealth(System::nanoTime));
    }

    /** The same services with another filter chain source (tests). */
    SessionServices withFilters(Supplier<FilterChain> f) {
        return new SessionServices(spool, policy, mode, tls, auth, rates, recipients, events, verifier, directory, f,
                listener, spoolHealth);
    }

    /** The same services with an LDAP recipient directory (tests). */
    SessionServices withDirectory(RecipientDirectory d) {
        return new SessionServices(spool, policy, mode, tls, auth, rates, recipients, events, verifier, d, filters,
                listener, spoolHealth);
    }

    /** The same services sharing another spool state (tests). */
    SessionServices withSpoolHealth(SpoolHealth h) {
        return new SessionServices(spool, policy, mode, tls, auth, rates, recipients, events, verifier, directory,
                filters, listener, h);
    }
}
