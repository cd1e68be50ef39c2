package org.hermod.shaping.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
 * handed over, a suspension runs out at its time, and both are handed on unchanged to the next strategy, so switching
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
                : configured.scaled(Math.max(0, s.factor()), RecoveryRule.DEFAULT.floorPerSecond());
        Instant until = s.suspendedUntil() != null && now.isBefore(s.suspendedUntil()) ? s.suspendedUntil() : null;
        return new PathDecision(l, until, s.reason() == null ? null : "held from handover: " + s.reason());
    }

    @Override
    public List<ShapingEvent> onFeedback(Feedback feedback, Limits configured) {
        return List.of();
    }

    @Override
    public List<ShapingEvent> tick(Instant now) {
        List<ShapingEvent> out = new ArrayList<>();
        for (PathState s : held.values()) {
            if (s.suspendedUntil() != null && !now.isBefore(s.suspendedUntil())) {
                PathState next = new PathState(s.path(), s.factor(), null, s.reason(), s.extra());
                if (held.replace(s.path(), s, next)) {
                    out.add(new ShapingEvent(now, s.path(), NAME, "suspension over", "resume", null, null, List.of(),
                            null));
                    if (next.factor() >= 1.0) {
                        held.remove(s.path(), next);
                    }
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
            if (s.factor() >= 1.0 && s.suspendedUntil() == null) {
                held.remove(s.path());
            } else {
                held.put(s.path(), s);
            }
        }
    }
}
