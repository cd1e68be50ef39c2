package org.hermod.shaping.internal;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.Site;

/**
 * The adaptive state of one (source, site) path: the share of the configured limits in force, a suspension, the good
 * deliveries since the last change, and the recent replies counted by each response rule. Guarded by its own monitor
 * (callers synchronize on it); {@link #dead} marks an entry removed from the strategy's map.
 */
final class PathControl {

    /** One counted reply. */
    record Hit(Instant time, String reply) {
    }

    final EgressPath path;
    Site site;
    String domain;
    double factor = 1.0;
    Instant suspendedUntil;
    String reason;
    int good;
    Instant lastChange;
    Instant lastNegative;
    Limits configured;
    double floorPerSecond = RecoveryRule.DEFAULT.floorPerSecond();
    /**
     * The path's observed message rate when a decrease first hit it while its configured rate was unlimited: the base
     * that the factor scales (0: none; cleared when the path is back at full speed).
     */
    double observedPerSecond;
    boolean dead;
    /** A response rule's {@code move}: the pool the path's mail goes to until divertUntil, and the rule. */
    String divertTo;
    Instant divertUntil;
    String divertBy;
    /** A response rule's {@code bounce}: the path's mail is returned with bounceReason until bounceUntil. */
    Instant bounceUntil;
    String bounceReason;
    /** By rule (origin text): the replies counted within its window. */
    final Map<String, Deque<Hit>> hits = new HashMap<>();
    /** By rule: when it last changed something (one reaction per rule per hold-off). */
    final Map<String, Instant> firedAt = new HashMap<>();

    PathControl(EgressPath path, Site site, String domain) {
        this.path = path;
        this.site = site;
        this.domain = domain;
    }

    Limits configuredOrDefault() {
        return configured == null ? Limits.DEFAULT : configured;
    }

    Limits inForce(double f) {
        return RateMeter.scaled(configuredOrDefault(), f, observedPerSecond, floorPerSecond);
    }

    boolean suspendedAt(Instant now) {
        return suspendedUntil != null && now.isBefore(suspendedUntil);
    }

    /** Nothing left to remember: full speed, not suspended, not moved or bounced, no replies being counted. */
    boolean idle() {
        return factor >= 1.0 && suspendedUntil == null && divertUntil == null && bounceUntil == null
                && hits.values().stream().allMatch(Deque::isEmpty);
    }

    String divertAt(Instant now) {
        return divertTo != null && divertUntil != null && now.isBefore(divertUntil) ? divertTo : null;
    }

    String bounceAt(Instant now) {
        return bounceReason != null && bounceUntil != null && now.isBefore(bounceUntil) ? bounceReason : null;
    }

    Deque<Hit> hitsOf(String rule) {
        return hits.computeIfAbsent(rule, k -> new ArrayDeque<>());
    }
}
