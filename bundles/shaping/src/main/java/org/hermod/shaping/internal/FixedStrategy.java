package org.hermod.shaping.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.Site;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code fixed} strategy: the configured limits, whatever the receivers answer. State handed over to it (a path
 * throttled or suspended by the previous strategy) is held as it was: the share of the limits stays where it was
 * handed over, a suspension runs out at its time, so do a response rule's move and bounce (PathState.extra), and all are handed on unchanged to the next strategy, so switching
 * a site to {@code fixed} and back loses nothing. An operator's {@code resume} lifts a handed-over suspension.
 *
 * <p>Threading: lock-free (a concurrent map of immutable states).
 */
@Component(service = ShapingStrategy.class, property = ShapingStrategy.NAME + "=" + FixedStrategy.NAME)
public final class FixedStrategy implements ShapingStrategy {

    public static final String NAME = "fixed";

    private final ConcurrentMap<EgressPath, PathState> held = new ConcurrentHashMap<>();

    @Override
    public PathDecision decide(EgressPath path, Site site, Limits configured, Instant now) {
        PathState s = held.get(path);
        if (s == null) {
            return PathDecision.of(configured);
        }
        Limits l = s.factor() >= 1.0 || Double.isNaN(s.factor()) ? configured
                : RateMeter.scaled(configured, Math.max(0, s.factor()), AdaptiveStrategy.observedRate(s.extra()),
                        RecoveryRule.DEFAULT.floorPerSecond());
        Instant until = s.suspendedUntil() != null && now.isBefore(s.suspendedUntil()) ? s.suspendedUntil() : null;
        String divert = inForce(s, AdaptiveStrategy.X_DIVERT_UNTIL, now) ? s.extra().get(AdaptiveStrategy.X_DIVERT_TO)
                : null;
        String bounce = inForce(s, AdaptiveStrategy.X_BOUNCE_UNTIL, now)
                ? s.extra().get(AdaptiveStrategy.X_BOUNCE_REASON) : null;
        return new PathDecision(l, until, s.reason() == null ? null : "held from handover: " + s.reason(), divert,
                bounce);
    }

    /** A handed-over move or bounce (its until key in extra) still in force at now. */
    private static boolean inForce(PathState s, String untilKey, Instant now) {
        Instant until = instant(s.extra().get(untilKey));
        return until != null && now.isBefore(until);
    }

    private static Instant instant(String v) {
        try {
            return v == null ? null : Instant.parse(v);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Holds something: throttled, suspended, or a move or bounce not yet over. */
    private static boolean holds(PathState s) {
        return s.factor() < 1.0 || s.suspendedUntil() != null
                || instant(s.extra().get(AdaptiveStrategy.X_DIVERT_UNTIL)) != null
                || instant(s.extra().get(AdaptiveStrategy.X_BOUNCE_UNTIL)) != null;
    }

    @Override
    public List<ShapingEvent> onFeedback(Feedback feedback, Limits configured) {
        return List.of();
    }

    @Override
    public List<ShapingEvent> tick(Instant now) {
        List<ShapingEvent> out = new ArrayList<>();
        for (PathState s : held.values()) {
            List<ShapingEvent> events = new ArrayList<>();
            Instant suspended = s.suspendedUntil();
            if (suspended != null && !now.isBefore(suspended)) {
                suspended = null;
                events.add(new ShapingEvent(now, s.path(), NAME, "suspension over", "resume", null, null, List.of(),
                        null));
            }
            Map<String, String> extra = new HashMap<>(s.extra());
            Instant divert = instant(extra.get(AdaptiveStrategy.X_DIVERT_UNTIL));
            if (divert != null && !now.isBefore(divert)) {
                events.add(new ShapingEvent(now, s.path(), NAME, "move over", "end move "
                        + extra.get(AdaptiveStrategy.X_DIVERT_TO), null, null, List.of(), null));
                extra.remove(AdaptiveStrategy.X_DIVERT_TO);
                extra.remove(AdaptiveStrategy.X_DIVERT_UNTIL);
                extra.remove(AdaptiveStrategy.X_DIVERT_BY);
            }
            Instant bounce = instant(extra.get(AdaptiveStrategy.X_BOUNCE_UNTIL));
            if (bounce != null && !now.isBefore(bounce)) {
                String reason = extra.remove(AdaptiveStrategy.X_BOUNCE_REASON);
                events.add(new ShapingEvent(now, s.path(), NAME, "bounce over", "end bounce", null, null,
                        reason == null ? List.of() : List.of(reason), null));
                extra.remove(AdaptiveStrategy.X_BOUNCE_UNTIL);
            }
            if (events.isEmpty()) {
                continue;
            }
            PathState next = new PathState(s.path(), s.factor(), suspended, s.reason(), extra);
            if (held.replace(s.path(), s, next)) {
                out.addAll(events);
                if (!holds(next)) {
                    held.remove(s.path(), next);
                }
            }
        }
        return out;
    }

    @Override
    public List<PathState> exportState() {
        return List.copyOf(held.values());
    }

    @Override
    public void importState(List<PathState> state) {
        if (state == null) {
            return;
        }
        for (PathState s : state) {
            if (s == null || s.path() == null) {
                continue;
            }
            if (!holds(s)) {
                held.remove(s.path());
            } else {
                held.put(s.path(), s);
            }
        }
    }
}
