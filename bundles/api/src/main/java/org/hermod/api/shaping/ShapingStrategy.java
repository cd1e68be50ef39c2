package org.hermod.api.shaping;

import java.time.Instant;
import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The SPI of traffic shaping: decides the limits in force on each egress path from the configured ones, and reacts to
 * delivery feedback (slowing down on throttling replies, suspending, recovering gradually). Register one as a service
 * with {@link #NAME}; the configuration assigns providers or sites to a strategy by that name, and the default
 * strategy ({@code adaptive}) serves the rest. When an assignment changes, or a strategy goes away, the outgoing
 * strategy's {@link #exportState()} is given to the incoming one's {@link #importState}.
 *
 * <p>Threading: {@link #decide} is called often from the dispatcher and delivery threads, {@link #onFeedback} after
 * every attempt; both concurrently, both must be fast and non-blocking (no I/O), and must never throw. The contract
 * test {@code ShapingStrategyContract} in the API's test-jar checks this.
 */
@ConsumerType
public interface ShapingStrategy {

    /** Service property: the strategy's name, used in the configuration (String). */
    String NAME = "hermod.shaping.strategy.name";

    /**
     * The limits in force on a path now.
     *
     * @param configured the limits the configuration gives this path (rules resolved by precedence)
     */
    PathDecision decide(EgressPath path, Site site, Limits configured, Instant now);

    /**
     * Takes one attempt's outcome.
     *
     * @param configured the limits the configuration gives the path
     * @return the changes this outcome caused (empty when none); each is logged by the caller
     */
    List<ShapingEvent> onFeedback(Feedback feedback, Limits configured);

    /** Gradual recovery and expiry of suspensions: called every few seconds; returns the changes made. */
    List<ShapingEvent> tick(Instant now);

    /** The state of every path this strategy throttles or suspends. */
    List<PathState> exportState();

    /** Takes over state exported by another strategy. */
    void importState(List<PathState> state);
}
