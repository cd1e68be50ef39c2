/**
 * Traffic shaping: the egress model (sources, pools, sites, paths), the limits in force on each path, the feedback
 * delivery gives after every attempt, and the strategy SPI that turns feedback into limits (adaptive throttling,
 * suspensions, warmup). Strategies are whiteboard services; an operator installs another one as a bundle and assigns
 * sites or providers to it without a restart, and the state in force is handed over.
 */
@Export
@Version("1.1.0")
package org.hermod.api.shaping;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
