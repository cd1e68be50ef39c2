/** Delivery events: the record of every delivery attempt, fed back to shaping, bounce handling and accounting. */
@Export
@Version("1.1.0")
package org.hermod.api.delivery;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
