package org.hermod.api.bounce;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Classifies delivery failures: the plug-in point for third-party classifiers (an SPI: other bundles implement it).
 * The service with the highest {@code service.ranking} is the active one; a bundle that registers a higher-ranked
 * classifier takes over at runtime and removing it restores the default (ranking 0). Name it with
 * {@link #NAME} (or the {@link ClassifierName} component property type) so the console can say which one decided.
 *
 * <p>Threading: called concurrently from delivery threads and the shell; must be thread-safe, must not block on I/O,
 * must not throw for any input (unknown input classifies as {@link BounceCategory#OTHER}). The contract test
 * {@code BounceClassifierContract} in the API's test-jar checks this.
 */
@ConsumerType
public interface BounceClassifier {

    /** Service property: a short human-readable name of the classifier (String). */
    String NAME = "hermod.classifier.name";


    Classification classify(FailureInput failure);
}
