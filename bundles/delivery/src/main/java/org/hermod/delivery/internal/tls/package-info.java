/** Outbound TLS policy: the per-destination policy map, MTA-STS (RFC 8461), DANE (RFC 7672) and peer verification. */
package org.hermod.delivery.internal.tls;
