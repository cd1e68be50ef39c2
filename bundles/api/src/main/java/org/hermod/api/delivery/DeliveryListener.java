package org.hermod.api.delivery;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Whiteboard: register a service of this type to be told of every delivery attempt (shaping feedback, suppression,
 * accounting). Called on delivery threads; must return quickly and never throw.
 */
@ConsumerType
public interface DeliveryListener {

    void onAttempt(DeliveryEvent event);
}
