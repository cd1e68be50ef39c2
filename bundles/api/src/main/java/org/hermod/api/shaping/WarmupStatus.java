package org.hermod.api.shaping;

import java.time.Instant;
import java.util.Objects;

/**
 * Where one source stands in its warmup towards one provider (or, for a destination no provider rule matches, one
 * site): the plan's day, today's cap and how much of it is used, and whether the next step is being held back.
 *
 * @param source the {@link EgressSource#name()}
 * @param target the provider name, or {@code site:KEY} for a site without a provider
 * @param day the plan's day, from 1; past the curve's last day the source is warm (no cap)
 * @param curveDays how many days the curve has
 * @param curve the curve's name (or {@code inline})
 * @param dailyCap messages allowed today, 0 when warm (no cap)
 * @param sentToday messages assigned to this source for the target today (counted when the source is chosen)
 * @param deliveredToday of those, how many were delivered (from delivery's feedback)
 * @param hourlyCap messages allowed in the current clock hour, 0 when there is no hourly cap
 * @param sentThisHour messages assigned in the current clock hour
 * @param heldBack why the next day's cap is held back (a negative signal from the provider), or null
 * @param heldUntil when a negative signal stops holding back advancement, or null
 * @param rule the warmup line of the rules file that applies, e.g. {@code hermod-shaping.rules:80 warmup source=new1}
 */
public record WarmupStatus(String source, String target, int day, int curveDays, String curve, long dailyCap,
                           long sentToday, long deliveredToday, long hourlyCap, long sentThisHour, String heldBack,
                           Instant heldUntil, String rule) {

    public WarmupStatus {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
    }

    /** True once the curve is done: the source is warm for this target and has no warmup cap. */
    public boolean warm() {
        return dailyCap == 0;
    }

    /** True when today's (or this hour's) cap is used up: the source is skipped for this target until it renews. */
    public boolean capReached() {
        return dailyCap > 0 && sentToday >= dailyCap || hourlyCap > 0 && sentThisHour >= hourlyCap;
    }
}
