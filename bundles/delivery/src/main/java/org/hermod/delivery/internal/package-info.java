/** Outbound delivery: the dispatcher that leases due work from the spool, retries, expiry, accounting and bounces. */
package org.hermod.delivery.internal;
