/**
 * Routing filters: the SPI that operators' bundles implement to take part in accepting and routing mail (one small
 * interface per stage: connect, MAIL, RCPT, end of data, pre-delivery), the immutable decisions they return, and the
 * filter chain the SMTP server and delivery call. Filters are whiteboard services ordered by {@code service.ranking}
 * (highest first) and bound dynamically: a bundle installed, updated or rolled back at runtime takes effect for the
 * next transaction, while a transaction in progress finishes with the chain it started with.
 *
 * <p>Filters are never called on a network event loop; each call has a time budget, and a filter that throws or runs
 * past its budget fails safe: the transaction is deferred with a 4xx (or rejected, if the filter is so configured),
 * never accepted unfiltered. See {@link org.hermod.api.filter.FilterProperties}.
 */
@Export
@Version("1.1.0")
package org.hermod.api.filter;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
