package org.hermod.api.filter;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Called after queueing, before delivery uses the route, once per delivery attempt of a message's recipients at one
 * destination. Can hold, discard, fail (reject), defer or reroute them, or replace those recipients.
 * Register as an OSGi service; see {@link FilterProperties}.
 */
@ConsumerType
@FunctionalInterface
public interface PreDeliveryFilter {

    /**
     * @param queueId the message's queue id
     * @param envelope the envelope with the recipients about to be attempted
     * @param route the stored route
     * @param attempts attempts already made for these recipients
     */
    FilterDecision beforeDelivery(String queueId, Envelope envelope, Route route, int attempts) throws Exception;
}
