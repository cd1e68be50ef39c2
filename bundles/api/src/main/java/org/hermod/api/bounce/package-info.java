/**
 * Bounce classification: turning a failed delivery (a remote reply, a connection failure, or an asynchronous bounce
 * message) into a category, a temporary/permanent verdict and a trace of why.
 */
@Export
@Version("1.1.0")
package org.hermod.api.bounce;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
