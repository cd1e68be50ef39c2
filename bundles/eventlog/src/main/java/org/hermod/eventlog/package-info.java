/** Writing Hermod's JSON Lines event logs: one writer design for every log (accounting, bounce events, shaping). */
@Export
@Version("1.0.0")
package org.hermod.eventlog;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
