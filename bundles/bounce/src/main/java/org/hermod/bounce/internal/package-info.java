/** Implementation of bounce classification, parsing, suppression, VERP and the bounce event log. */
package org.hermod.bounce.internal;
