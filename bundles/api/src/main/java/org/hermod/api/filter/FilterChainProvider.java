package org.hermod.api.filter;

import org.osgi.annotation.versioning.ProviderType;

/** Hands out the current {@link FilterChain} snapshot; a service of the routing bundle. */
@ProviderType
public interface FilterChainProvider {

    /** The chain in force now; cheap (a volatile read), call it once per transaction. */
    FilterChain current();
}
