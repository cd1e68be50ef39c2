/** The Netty SMTP client: connections with MX fallback, STARTTLS, pipelined transactions, per-phase timeouts, pooling. */
package org.hermod.delivery.internal.smtp;
