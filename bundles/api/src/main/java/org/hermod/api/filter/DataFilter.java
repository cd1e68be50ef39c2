package org.hermod.api.filter;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Called at the end of DATA (or the last BDAT chunk), before the message is stored: the reply to the client is this
 * stage's outcome. Sees the envelope, the route decided so far and the content as changed by earlier filters.
 * Register as an OSGi service; see {@link FilterProperties}.
 */
@ConsumerType
@FunctionalInterface
public interface DataFilter {

    FilterDecision onData(SessionInfo session, Envelope envelope, Route route, MessageData message) throws Exception;
}
