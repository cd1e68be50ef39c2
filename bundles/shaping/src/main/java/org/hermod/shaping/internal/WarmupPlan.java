package org.hermod.shaping.internal;

import java.util.List;

/**
 * One {@code warmup} line of the rules file: the daily caps a source may send to each provider (or to one provider),
 * growing day by day along a curve.
 *
 * @param source the source it applies to
 * @param provider only this provider, or null: every provider (and every site no provider rule matches) separately
 * @param curve the curve's name, or {@code inline} for caps written on the line
 * @param caps the daily cap of day 1, 2, ... (after the last day the source is warm: no cap)
 * @param hourlyShare at most this share of the day's cap per clock hour (0: no hourly cap)
 * @param origin the line
 */
public record WarmupPlan(String source, String provider, String curve, List<Long> caps, double hourlyShare,
                         Origin origin) {

    /**
     * The curve shipped when the rules file defines none of that name: about three weeks from 50 a day to 100,000 a
     * day per provider, roughly doubling while volumes are small and growing by a third or less later (the shape of
     * the schedules Google's and Yahoo's sender guidance asks for: start small, increase slowly and steadily).
     */
    public static final List<Long> CONSERVATIVE = List.of(50L, 100L, 200L, 400L, 750L, 1_000L, 1_500L, 2_000L, 3_000L,
            4_000L, 5_000L, 7_500L, 10_000L, 15_000L, 20_000L, 30_000L, 40_000L, 50_000L, 65_000L, 80_000L, 100_000L);

    public WarmupPlan {
        caps = List.copyOf(caps);
    }

    /** The cap of a plan day (from 1); 0 once the curve is done. */
    public long capOn(int day) {
        return day >= 1 && day <= caps.size() ? caps.get(day - 1) : 0;
    }

    /** The hourly cap on a plan day; 0 when there is none. */
    public long hourlyCapOn(int day) {
        long daily = capOn(day);
        return daily == 0 || hourlyShare <= 0 ? 0 : Math.max(1, (long) Math.ceil(daily * hourlyShare));
    }
}
