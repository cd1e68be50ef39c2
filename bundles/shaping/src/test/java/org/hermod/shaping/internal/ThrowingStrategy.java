package org.hermod.shaping.internal;

import java.time.Instant;
import java.util.List;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.Site;

/** A broken plug-in: every call fails, one of them with a stack overflow. */
final class ThrowingStrategy implements ShapingStrategy {

    @Override
    public PathDecision decide(EgressPath path, Site site, Limits configured, Instant now) {
        throw new IllegalStateException("broken decide");
    }

    @Override
    public List<ShapingEvent> onFeedback(Feedback feedback, Limits configured) {
        throw new StackOverflowError("broken feedback");
    }

    @Override
    public List<ShapingEvent> tick(Instant now) {
        throw new NoClassDefFoundError("broken/Tick");
    }

    @Override
    public List<PathState> exportState() {
        return null;
    }

    @Override
    public void importState(List<PathState> state) {
        throw new UnsupportedOperationException("broken import");
    }
}
