/** Immutable mail value types shared by every Hermod bundle: addresses, envelopes, SMTP replies. */
@Export
@Version("1.1.0")
package org.hermod.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
