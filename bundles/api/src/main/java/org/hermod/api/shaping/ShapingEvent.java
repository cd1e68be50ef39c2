package org.hermod.api.shaping;

import java.time.Instant;
import java.util.List;

/**
 * An automatic change of a path's limits or state. Nothing changes a limit silently: every change is one of these, in
 * the shaping event log and in {@code hermod:shaping-events}.
 *
 * @param time when it was decided
 * @param path the path it applies to
 * @param strategy the strategy that decided it
 * @param rule the response rule (with the rule file's version) that fired, or a description of the recovery step
 * @param action what was done, e.g. "decrease x0.5", "suspend 1h", "increase +10%", "resume"
 * @param before the limits in force before
 * @param after the limits in force after
 * @param replies a few of the triggering replies, verbatim
 * @param reconsiderAt when the change will be reconsidered (next recovery step or end of suspension), or null
 */
public record ShapingEvent(Instant time, EgressPath path, String strategy, String rule, String action, Limits before,
                           Limits after, List<String> replies, Instant reconsiderAt) {

    public ShapingEvent {
        replies = List.copyOf(replies == null ? List.of() : replies);
    }
}
