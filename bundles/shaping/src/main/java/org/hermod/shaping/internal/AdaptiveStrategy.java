package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
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
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The default strategy ({@code adaptive}): the response rules of the rules file (every rule a reply matches counts
 * it, most specific first) decrease a (source, site) path's
 * connections and rates multiplicatively or suspend it, at once or when {@code count} matching replies fell within
 * {@code within}; recovery is additive (AIMD): the path's share of the configured limits grows by the recovery step
 * after every N good deliveries or after a quiet period without negative replies, never above the configured limits
 * and never in one jump back to full speed. Every change is returned as a {@link ShapingEvent}.
 *
 * <p>A rule that changed a path does not fire again on it for {@link #HOLD_OFF} (replies from connections that were
 * already open when the change was made would otherwise compound it within seconds); those replies still count as
 * negative, so recovery does not start meanwhile.
 *
 * <p>Threading: one monitor per path; {@link #decide} takes no lock for paths at full speed.
 */
@Component(service = ShapingStrategy.class, property = {ShapingStrategy.NAME + "=" + AdaptiveStrategy.NAME,
    "service.ranking:Integer=0"})
public final class AdaptiveStrategy implements ShapingStrategy {

    public static final String NAME = "adaptive";
    /** The same rule changes a path at most once in this period. */
    public static final Duration HOLD_OFF = Duration.ofMinutes(1);
    /** How many triggering replies an event carries. */
    private static final int REPLIES_IN_EVENT = 3;
    /** PathState.extra keys of a response rule's move and bounce (FixedStrategy holds them too). */
    static final String X_DIVERT_TO = "divertTo";
    static final String X_DIVERT_UNTIL = "divertUntil";
    static final String X_DIVERT_BY = "divertBy";
    static final String X_BOUNCE_REASON = "bounceReason";
    static final String X_BOUNCE_UNTIL = "bounceUntil";
    /** PathState.extra key of the observed rate a decrease of an unlimited path scales (FixedStrategy reads it). */
    static final String X_OBSERVED_RATE = "observedRate";

    private final RulesSource rules;
    private final ConcurrentMap<EgressPath, PathControl> paths = new ConcurrentHashMap<>();
    /** Every path's outcomes per second lately (for a decrease of a path whose configured rate is unlimited). */
    private final ConcurrentMap<EgressPath, RateMeter> meters = new ConcurrentHashMap<>();

    /** @param rules the rules in force (the response rules and recovery settings are read on every call) */
    @Activate
    public AdaptiveStrategy(@Reference RulesSource rules) {
        this.rules = rules;
    }

    @Override
    public PathDecision decide(EgressPath path, Site site, Limits configured, Instant now) {
        PathControl c = paths.get(path);
        if (c == null) {
            return PathDecision.of(configured);
        }
        synchronized (c) {
            c.configured = configured;
            if (c.site == null) {
                c.site = site;
            }
            Instant until = c.suspendedAt(now) ? c.suspendedUntil : null;
            String divert = c.divertAt(now);
            String bounce = c.bounceAt(now);
            if (c.factor >= 1.0 && until == null && divert == null && bounce == null) {
                return PathDecision.of(configured);
            }
            if (c.factor >= 1.0 && until == null) {
                return new PathDecision(configured, null, null, divert, bounce);
            }
            return new PathDecision(c.inForce(c.factor), until, c.reason, divert, bounce);
        }
    }

    @Override
    public List<ShapingEvent> onFeedback(Feedback f, Limits configured) {
        Rules r = rules.rules();
        long t = Gcra.nanos(f.time());
        RateMeter meter = meters.get(f.path());
        if (meter == null) {
            meter = meters.computeIfAbsent(f.path(), p -> new RateMeter(t));
        }
        meter.record(t);
        if (f.result() == Feedback.Result.DELIVERED) {
            PathControl c = paths.get(f.path());
            if (c == null) {
                return List.of();
            }
            synchronized (c) {
                c.configured = configured;
                return c.dead ? List.of() : delivered(c, r, f);
            }
        }
        List<ResponseRule> matching = new ArrayList<>();
        for (ResponseRule rr : r.responsesFor(f.site(), f.domain(), f.path().source())) {
            if (rr.matches(f)) {
                matching.add(rr);
            }
        }
        if (matching.isEmpty()) {
            return List.of();
        }
        while (true) {
            PathControl c = paths.computeIfAbsent(f.path(), p -> new PathControl(p, f.site(), f.domain()));
            synchronized (c) {
                if (c.dead) {
                    continue;
                }
                c.configured = configured;
                List<ShapingEvent> out = new ArrayList<>();
                for (ResponseRule rule : matching) {
                    out.addAll(negative(c, r, rule, f));
                }
                return out;
            }
        }
    }

    private List<ShapingEvent> delivered(PathControl c, Rules r, Feedback f) {
        if (c.factor >= 1.0 || c.suspendedAt(f.time())) {
            return List.of();
        }
        RecoveryRule rec = r.recoveryFor(c.site, c.domain, c.path.source());
        c.good++;
        if (c.good < rec.deliveries()) {
            return List.of();
        }
        return List.of(increase(c, r, rec, f.time(), c.good + " good deliveries"));
    }

    private List<ShapingEvent> negative(PathControl c, Rules r, ResponseRule rule, Feedback f) {
        Instant now = f.time();
        String key = rule.origin().toString();
        Deque<PathControl.Hit> hits = c.hitsOf(key);
        hits.addLast(new PathControl.Hit(now, f.replyLine()));
        prune(hits, rule.within(), now);
        c.good = 0;
        c.lastNegative = max(c.lastNegative, now);
        Instant fired = c.firedAt.get(key);
        if (hits.size() < rule.count() || fired != null && now.isBefore(fired.plus(HOLD_OFF))) {
            return List.of();
        }
        List<String> replies = new ArrayList<>();
        for (PathControl.Hit h : hits) {
            if (replies.size() < REPLIES_IN_EVENT) {
                replies.add(h.reply());
            }
        }
        hits.clear();
        c.firedAt.put(key, now);
        RecoveryRule rec = r.recoveryFor(c.site, c.domain, c.path.source());
        c.floorPerSecond = rec.floorPerSecond();
        Limits before = c.inForce(c.factor);
        if (rule.decrease() > 0) {
            if (c.configuredOrDefault().messagesPerSecond() == 0 && c.observedPerSecond == 0) {
                // an unlimited path: the decrease scales the rate it was seen to have, not only its connections
                RateMeter m = meters.get(c.path);
                c.observedPerSecond = m == null ? 0 : m.perSecond(Gcra.nanos(now));
            }
            c.factor = Math.max(rec.minFactor(), Math.round(c.factor * rule.decrease() * 1e9) / 1e9);
        }
        if (rule.suspend() != null) {
            c.suspendedUntil = max(c.suspendedUntil, now.plus(rule.suspend()));
        }
        Instant reconsider = null;
        if (rule.throttles()) {
            c.lastChange = now;
            c.reason = rule.action() + " by " + key + " (" + replies.get(0) + ")";
            reconsider = max(c.suspendedUntil, now.plus(rec.quiet()));
        }
        if (rule.moveTo() != null) {
            Instant until = now.plus(rule.moveFor());
            c.divertUntil = rule.moveTo().equals(c.divertTo) ? max(c.divertUntil, until) : until;
            c.divertTo = rule.moveTo();
            c.divertBy = key;
            reconsider = max(reconsider, c.divertUntil);
        }
        if (rule.bounceFor() != null) {
            c.bounceUntil = max(c.bounceUntil, now.plus(rule.bounceFor()));
            c.bounceReason = bounceReason(rule, replies.get(0));
            reconsider = max(reconsider, c.bounceUntil);
        }
        return List.of(new ShapingEvent(now, c.path, NAME, ruleText(rule, r), rule.action(), before,
                c.inForce(c.factor), replies, reconsider));
    }

    /** How many characters of the triggering reply a bounce reason quotes. */
    private static final int REPLY_IN_REASON = 200;

    /** E.g. {@code stopped by shaping rule hermod-shaping.rules:57: 550 5.7.1 ...}. */
    static String bounceReason(ResponseRule rule, String reply) {
        String r = reply.strip();
        if (r.length() > REPLY_IN_REASON) {
            r = r.substring(0, REPLY_IN_REASON) + "...";
        }
        return "stopped by shaping rule " + rule.origin().file() + ":" + rule.origin().line() + ": " + r;
    }

    private ShapingEvent increase(PathControl c, Rules r, RecoveryRule rec, Instant now, String why) {
        Limits before = c.inForce(c.factor);
        double old = c.factor;
        c.floorPerSecond = rec.floorPerSecond();
        c.factor = Math.min(1.0, Math.round((c.factor + rec.step()) * 1e9) / 1e9); // 0.5 + 5 x 0.1 is 1, not 0.999..
        c.good = 0;
        c.lastChange = now;
        c.reason = c.factor >= 1.0 ? null : c.reason;
        c.observedPerSecond = c.factor >= 1.0 ? 0 : c.observedPerSecond; // back to the configured (unlimited) rate
        String action = "increase +" + Rules.num(rec.step() * 100) + "% (" + Rules.num(old * 100) + "% -> "
                + Rules.num(c.factor * 100) + "% of configured)";
        String rule = "recovery " + rec.origin() + "@" + r.version() + ": " + why;
        return new ShapingEvent(now, c.path, NAME, rule, action, before, c.inForce(c.factor), List.of(),
                c.factor >= 1.0 ? null : now.plus(rec.quiet()));
    }

    @Override
    public List<ShapingEvent> tick(Instant now) {
        Rules r = rules.rules();
        List<ShapingEvent> out = new ArrayList<>();
        for (PathControl c : paths.values()) {
            synchronized (c) {
                if (c.dead) {
                    continue;
                }
                RecoveryRule rec = r.recoveryFor(c.site, c.domain, c.path.source());
                if (c.suspendedUntil != null && !now.isBefore(c.suspendedUntil)) {
                    Limits l = c.inForce(c.factor);
                    c.suspendedUntil = null;
                    c.lastChange = now;
                    if (c.factor >= 1.0) {
                        c.reason = null;
                    }
                    out.add(new ShapingEvent(now, c.path, NAME, "suspension over", "resume", l, l, List.of(),
                            c.factor >= 1.0 ? null : now.plus(rec.quiet())));
                } else if (c.factor < 1.0 && !c.suspendedAt(now)) {
                    Instant quietSince = max(c.lastChange, c.lastNegative);
                    if (quietSince == null || !now.isBefore(quietSince.plus(rec.quiet()))) {
                        out.add(increase(c, r, rec, now, "quiet for " + Rules.duration(rec.quiet())));
                    }
                }
                if (c.divertUntil != null && !now.isBefore(c.divertUntil)) {
                    Limits l = c.inForce(c.factor);
                    out.add(new ShapingEvent(now, c.path, NAME, "move over (" + c.divertBy + ")",
                            "end move " + c.divertTo, l, l, List.of(), null));
                    c.divertTo = null;
                    c.divertUntil = null;
                    c.divertBy = null;
                }
                if (c.bounceUntil != null && !now.isBefore(c.bounceUntil)) {
                    Limits l = c.inForce(c.factor);
                    out.add(new ShapingEvent(now, c.path, NAME, "bounce over", "end bounce", l, l,
                            c.bounceReason == null ? List.of() : List.of(c.bounceReason), null));
                    c.bounceUntil = null;
                    c.bounceReason = null;
                }
                for (Map.Entry<String, Deque<PathControl.Hit>> e : c.hits.entrySet()) {
                    prune(e.getValue(), windowOf(r, e.getKey()), now);
                }
                c.firedAt.values().removeIf(t -> !now.isBefore(t.plus(HOLD_OFF)));
                if (c.idle()) {
                    c.dead = true;
                    paths.remove(c.path, c);
                }
            }
        }
        long t = Gcra.nanos(now);
        meters.values().removeIf(m -> m.stale(t)); // a path idle for two minutes starts a new meter
        return out;
    }

    private static Duration windowOf(Rules r, String key) {
        for (ResponseRule rr : r.responses()) {
            if (rr.origin().toString().equals(key)) {
                return rr.within();
            }
        }
        return Duration.ZERO; // the rule is gone from the file: forget its counts
    }

    private static void prune(Deque<PathControl.Hit> hits, Duration within, Instant now) {
        Instant from = now.minus(within);
        while (!hits.isEmpty() && hits.peekFirst().time().isBefore(from)) {
            hits.removeFirst();
        }
        if (within.isZero()) {
            while (hits.size() > 1) {
                hits.removeFirst();
            }
        }
    }

    private static String ruleText(ResponseRule rule, Rules r) {
        return rule.origin().file() + ":" + rule.origin().line() + "@" + r.version() + " " + rule.line();
    }

    private static Instant max(Instant a, Instant b) {
        return a == null ? b : b == null ? a : a.isAfter(b) ? a : b;
    }

    @Override
    public List<PathState> exportState() {
        List<PathState> out = new ArrayList<>();
        for (PathControl c : paths.values()) {
            synchronized (c) {
                if (c.dead) {
                    continue;
                }
                Map<String, String> extra = new HashMap<>();
                extra.put("good", Integer.toString(c.good));
                put(extra, "lastChange", c.lastChange);
                put(extra, "lastNegative", c.lastNegative);
                if (c.domain != null) {
                    extra.put("domain", c.domain);
                }
                if (c.site != null) {
                    if (c.site.provider() != null) {
                        extra.put("provider", c.site.provider());
                    }
                    extra.put("mxHosts", String.join(",", c.site.mxHosts()));
                }
                if (c.divertTo != null && c.divertUntil != null) {
                    extra.put(X_DIVERT_TO, c.divertTo);
                    put(extra, X_DIVERT_UNTIL, c.divertUntil);
                    if (c.divertBy != null) {
                        extra.put(X_DIVERT_BY, c.divertBy);
                    }
                }
                if (c.bounceReason != null && c.bounceUntil != null) {
                    extra.put(X_BOUNCE_REASON, c.bounceReason);
                    put(extra, X_BOUNCE_UNTIL, c.bounceUntil);
                }
                if (c.observedPerSecond > 0) {
                    extra.put(X_OBSERVED_RATE, Double.toString(c.observedPerSecond));
                }
                out.add(new PathState(c.path, c.factor, c.suspendedUntil, c.reason, extra));
            }
        }
        return out;
    }

    private static void put(Map<String, String> m, String k, Instant v) {
        if (v != null) {
            m.put(k, v.toString());
        }
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
            Map<String, String> x = s.extra();
            String mx = x.getOrDefault("mxHosts", "");
            Site site = new Site(s.path().site(), x.get("provider"),
                    mx.isEmpty() ? List.of() : Arrays.asList(mx.split(",")));
            PathControl c = new PathControl(s.path(), site, x.get("domain"));
            double f = s.factor();
            c.factor = Double.isNaN(f) ? 1.0 : Math.max(RecoveryRule.DEFAULT.minFactor() / 10, Math.min(1.0, f));
            c.suspendedUntil = s.suspendedUntil();
            c.reason = s.reason();
            c.good = parseInt(x.get("good"));
            c.lastChange = parseInstant(x.get("lastChange"));
            c.lastNegative = parseInstant(x.get("lastNegative"));
            c.divertUntil = parseInstant(x.get(X_DIVERT_UNTIL));
            c.divertTo = c.divertUntil == null ? null : x.get(X_DIVERT_TO);
            c.divertUntil = c.divertTo == null ? null : c.divertUntil;
            c.divertBy = c.divertTo == null ? null : x.get(X_DIVERT_BY);
            c.bounceUntil = parseInstant(x.get(X_BOUNCE_UNTIL));
            c.bounceReason = c.bounceUntil == null ? null : x.get(X_BOUNCE_REASON);
            c.bounceUntil = c.bounceReason == null ? null : c.bounceUntil;
            c.observedPerSecond = c.factor >= 1.0 ? 0 : observedRate(x);
            PathControl old = paths.put(s.path(), c);
            if (old != null) {
                synchronized (old) {
                    old.dead = true;
                }
            }
        }
    }

    /** A handed-over observed rate (0 when absent or not a positive number). */
    static double observedRate(Map<String, String> extra) {
        try {
            String v = extra.get(X_OBSERVED_RATE);
            double d = v == null ? 0 : Double.parseDouble(v);
            return Double.isFinite(d) && d > 0 ? d : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static int parseInt(String s) {
        try {
            return s == null ? 0 : Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static Instant parseInstant(String s) {
        try {
            return s == null ? null : Instant.parse(s);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
