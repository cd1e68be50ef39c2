package org.hermod.api.delivery;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.hermod.api.shaping.Site;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What delivery knows about its egress paths right now, for the console: which site each destination domain rolled up
 * into, and how much mail waits and runs on each path. Thread-safe; snapshots.
 */
@ProviderType
public interface EgressView {

    /** The site a domain rolled up into, when delivery has looked it up. */
    Optional<Site> siteOf(String domain);

    /** Site key → the domains delivery knows to belong to it (sorted). */
    Map<String, List<String>> domainsBySite();

    /**
     * {@code pool@site} → items leased and waiting there until a source of the pool may start them (a free connection,
     * a token, no suspension).
     */
    Map<String, Integer> waitingByPoolAndSite();

    /** Path ({@code source->site}) → deliveries running on it now. */
    Map<String, Integer> activeByPath();
}
