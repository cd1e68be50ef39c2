package org.hermod.examples.gentle;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@code gentle} strategy: a path's connections and rates are multiplied by {@code step} (0.75) on each throttling
 * reply (a deferral with code 421 or an enhanced status 4.7.x), at most once a minute per path, and never go below
 * {@code floor} (50%) of the configured limits. It never speeds up on its own: a path stays where it is until an
 * operator resumes it or the site is assigned back to a strategy that recovers (the state is handed over both ways).
 *
 * <p>Threading: lock-free; a concurrent map of immutable {@link PathState}s, changed by compare-and-set.
 */
@Component(service = ShapingStrategy.class, property = ShapingStrategy.NAME + "=" + GentleStrategy.NAME,
        configurationPid = "org.hermod.examples.gentle", configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = GentleStrategy.Config.class)
public final class GentleStrategy implements ShapingStrategy {

    /** The name to assign sites or providers to, in {@code strategyAssignments} of {@code org.hermod.shaping.cfg}. */
    public static final String NAME = "gentle";
    /** Rates never drop below one message a minute, whatever the factor. */
    static final double FLOOR_RATE = 1.0 / 60;
    static final Duration COOLDOWN = Duration.ofMinutes(1);

    @ObjectClassDefinition(name = "Hermod example strategy: gentle")
    public @interface Config {
        @AttributeDefinition(description = "Share of the limits kept on each throttling reply (0..1)")
        double step() default 0.75;

        @AttributeDefinition(description = "The lowest share of the configured limits (0..1)")
        double floor() default 0.5;
    }

    private final ConcurrentMap<EgressPath, PathState> paths = new ConcurrentHashMap<>();
    private volatile double step = 0.75;
    private volatile double floor = 0.5;

    /** For tests and plain Java use: the defaults. */
    public GentleStrategy() {
    }

    /** For tests: these settings. */
    public GentleStrategy(double step, double floor) {
        set(step, floor);
    }

    @Activate
    @Modified
    void configure(Config config) {
        set(config.step(), config.floor());
    }

    private void set(double step, double floor) {
        this.step = step > 0 && step < 1 ? step : 0.75;
        this.floor = floor > 0 && floor <= 1 ? floor : 0.5;
    }

    @Override
    public PathDecision decide(EgressPath path, Site site, Limits configured, Instant now) {
        PathState s = paths.get(path);
        if (s == null) {
            return PathDecision.of(configured);
        }
        Limits limits = s.factor() >= 1.0 || Double.isNaN(s.factor()) ? configured
                : configured.scaled(Math.max(0, s.factor()), FLOOR_RATE);
        Instant until = s.suspendedUntil() != null && now.isBefore(s.suspendedUntil()) ? s.suspendedUntil() : null;
        return new PathDecision(limits, until, s.reason());
    }

    @Override
    public List<ShapingEvent> onFeedback(Feedback f, Limits configured) {
        if (!throttling(f)) {
            return List.of();
        }
        while (true) {
            PathState old = paths.get(f.path());
            double factor = old == null || Double.isNaN(old.factor()) ? 1.0 : old.factor();
            Instant last = old == null ? null : lastDecrease(old);
            if (factor <= floor || last != null && f.time().isBefore(last.plus(COOLDOWN))) {
                return List.of(); // at the floor already, or decreased less than a minute ago
            }
            double next = Math.max(floor, factor * step);
            String reason = "gentle: decrease x" + step + " after " + abbreviate(f.replyLine());
            PathState state = new PathState(f.path(), next, old == null ? null : old.suspendedUntil(), reason,
                    Map.of("gentle.lastDecrease", f.time().toString()));
            boolean swapped = old == null ? paths.putIfAbsent(f.path(), state) == null : paths.replace(f.path(), old, state);
            if (swapped) {
                return List.of(new ShapingEvent(f.time(), f.path(), NAME, "gentle: 421 or 4.7.x deferral",
                        "decrease x" + step, configured.scaled(factor, FLOOR_RATE), configured.scaled(next, FLOOR_RATE),
                        List.of(abbreviate(f.replyLine())), null));
            }
        }
    }

    private static boolean throttling(Feedback f) {
        return f.result() == Feedback.Result.DEFERRED
                && (f.code() == 421 || f.enhancedStatus() != null && f.enhancedStatus().startsWith("4.7."));
    }

    private static Instant lastDecrease(PathState s) {
        try {
            String v = s.extra().get("gentle.lastDecrease");
            return v == null ? null : Instant.parse(v);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    /** Nothing recovers here; only suspensions run out. */
    @Override
    public List<ShapingEvent> tick(Instant now) {
        List<ShapingEvent> out = new ArrayList<>();
        for (PathState s : paths.values()) {
            if (s.suspendedUntil() != null && !now.isBefore(s.suspendedUntil())) {
                PathState next = new PathState(s.path(), s.factor(), null, s.reason(), s.extra());
                if (paths.replace(s.path(), s, next)) {
                    out.add(new ShapingEvent(now, s.path(), NAME, "suspension over", "resume", null, null, List.of(),
                            null));
                }
            }
        }
        return out;
    }

    @Override
    public List<PathState> exportState() {
        return List.copyOf(paths.values());
    }

    /** Takes over what another strategy hands over: factors (kept as they are, even below the floor) and suspensions. */
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
                paths.remove(s.path());
            } else {
                paths.put(s.path(), s);
            }
        }
    }
}
