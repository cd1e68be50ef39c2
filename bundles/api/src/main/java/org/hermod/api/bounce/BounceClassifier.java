package org.hermod.api.bounce;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Classifies delivery failures. The service with the highest {@code service.ranking} is the active one; a bundle that
 * registers a higher-ranked classifier takes over at runtime and removing it restores the default.
 * Thread-safe; must not block on I/O.
 */
@ProviderType
public interface BounceClassifier {

    Classification classify(FailureInput failure);
}
