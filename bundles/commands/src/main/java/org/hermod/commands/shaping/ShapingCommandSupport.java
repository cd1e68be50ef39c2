package org.hermod.commands.shaping;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.hermod.api.delivery.EgressView;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.ShapingEvent;

/**
 * Shared base of the shaping commands: the shaping service (bundle hermod-shaping) and delivery's view of its paths.
 * Output goes to System.out so it also shows over ssh exec.
 */
public abstract class ShapingCommandSupport implements Action {

    @Reference(optional = true)
    protected Shaping shaping;

    @Reference(optional = true)
    protected EgressView egress;

    /** True (after saying why) when the shaping service is missing. */
    protected boolean noShaping() {
        if (shaping == null) {
            System.out.println("Traffic shaping is not installed (feature hermod-core brings the hermod-shaping bundle);"
                    + " delivery uses the static limits of etc/org.hermod.delivery.cfg.");
            return true;
        }
        return false;
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?", Pattern.CASE_INSENSITIVE);

    /** Parses 90s, 30m, 2h, 1d (a bare number is seconds). */
    static Duration parseDuration(String s) {
        Matcher m = DURATION.matcher(s.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: " + s + " (use e.g. 30m, 2h, 1d)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
    }

    static String when(Instant t) {
        if (t == null) {
            return "-";
        }
        Duration d = Duration.between(Instant.now(), t);
        long s = Math.abs(d.getSeconds());
        String amount = s < 120 ? s + "s" : s < 7200 ? s / 60 + "m" : s / 3600 + "h" + (s % 3600) / 60 + "m";
        return d.isNegative() ? amount + " ago" : "in " + amount;
    }

    static void print(ShapingEvent e) {
        System.out.printf("%s  %s  %s  %s%n", e.time(), e.path(), e.action(), e.rule() == null ? "" : e.rule());
        System.out.printf("    strategy %s; %s -> %s%s%n", e.strategy(), e.before(), e.after(),
                e.reconsiderAt() == null ? "" : "; reconsidered " + when(e.reconsiderAt()));
        for (String r : e.replies()) {
            System.out.println("    reply: " + r);
        }
    }
}
