package org.hermod.delivery.internal.smtp;

import org.hermod.delivery.internal.tls.HostTls;
import org.hermod.delivery.internal.tls.TlsRequirement;

/**
 * What a connection attempt needs from the configuration.
 *
 * @param port destination port
 * @param heloName EHLO/HELO name
 * @param sourceAddress local bind address, or empty
 * @param timeouts per-phase timeouts
 * @param tls what TLS each MX host of the destination gets
 */
public record ConnectSettings(int port, String heloName, String sourceAddress, Timeouts timeouts, TlsRequirement tls) {

    /**
     * Without peer verification: {@code may} when {@code tlsEnabled}, else {@code none}; {@code encrypt} when
     * {@code tlsRequired}.
     */
    public ConnectSettings(int port, String heloName, String sourceAddress, Timeouts timeouts, boolean tlsEnabled,
                           boolean tlsRequired) {
        this(port, heloName, sourceAddress, timeouts, TlsRequirement.uniform("", tlsRequired
                ? HostTls.simple(HostTls.Check.ENCRYPT, "encrypt", "default") : tlsEnabled
                ? HostTls.simple(HostTls.Check.MAY, "may", "default")
                : HostTls.simple(HostTls.Check.NONE, "none", "default"), null));
    }
}
