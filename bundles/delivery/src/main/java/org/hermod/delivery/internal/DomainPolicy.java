package org.hermod.delivery.internal;

import java.time.Duration;

/** The effective per-destination settings (global defaults with any domain override applied). */
public record DomainPolicy(Duration maxAge, RetrySchedule retry, int maxConnections, boolean tlsRequired) {
}
