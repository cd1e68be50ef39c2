package org.hermod.shaping.internal;

import java.time.Duration;

/**
 * {@code recovery [scope] step=10% deliveries=100 quiet=5m floor=1/m min=5%}: how a throttled path recovers (AIMD):
 * its share of the configured limits grows by {@code step} after every {@code deliveries} good deliveries, or after
 * {@code quiet} without a negative reply, never above 100%; a decrease never takes it below {@code min}, nor a limited
 * rate below {@code floor} (so a throttled path still drains).
 */
public record RecoveryRule(Scope scope, double step, int deliveries, Duration quiet, double floorPerSecond,
                           double minFactor, Origin origin) {

    public static final RecoveryRule DEFAULT = new RecoveryRule(Scope.ANY, 0.1, 100, Duration.ofMinutes(5), 1.0 / 60,
            0.05, Origin.BUILT_IN);
}
