package org.hermod.delivery.internal.smtp;

/**
 * What a connection attempt needs from the configuration.
 *
 * @param port destination port
 * @param heloName EHLO/HELO name
 * @param sourceAddress local bind address, or empty
 * @param timeouts per-phase timeouts
 * @param tlsEnabled whether to use STARTTLS when offered
 * @param tlsRequired whether the destination must be reached over TLS
 */
public record ConnectSettings(int port, String heloName, String sourceAddress, Timeouts timeouts, boolean tlsEnabled,
                              boolean tlsRequired) {
}
