/**
 * The durable spool and the queue index: storing accepted mail (durable before the 250), leasing due items to delivery
 * with transactional completion, and the operator's view and controls over the queues.
 */
@Export
@Version("2.1.0")
package org.hermod.api.spool;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
