package org.hermod.delivery.internal.smtp;

import java.time.Duration;

/** Per-phase client timeouts (RFC 5321 4.5.3.2 defaults). */
public record Timeouts(Duration connect, Duration greeting, Duration helo, Duration mail, Duration rcpt, Duration dataInit,
                       Duration dataBlock, Duration dataEnd) {

    public static Timeouts defaults() {
        return new Timeouts(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(5),
                Duration.ofMinutes(5), Duration.ofMinutes(2), Duration.ofMinutes(3), Duration.ofMinutes(10));
    }

    /** All phases the same (tests). */
    public static Timeouts uniform(Duration d) {
        return new Timeouts(d, d, d, d, d, d, d, d);
    }
}
