package org.hermod.api.filter;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Called when a client connects, before the greeting. A reject or defer is the greeting (554 / 421) and the
 * connection is closed. Register as an OSGi service; see {@link FilterProperties}.
 */
@ConsumerType
@FunctionalInterface
public interface ConnectFilter {

    FilterDecision onConnect(SessionInfo session) throws Exception;
}
