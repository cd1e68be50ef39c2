/**
 * Routing: the route a message takes (source pool, smarthost, tenant, campaign, priority and free-form tags), decided
 * when it is accepted, stored with it in the spool (it survives restarts) and acted on by delivery and shaping.
 */
@Export
@Version("1.0.0")
package org.hermod.api.routing;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
