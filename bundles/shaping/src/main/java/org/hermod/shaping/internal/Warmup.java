package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.WarmupStatus;

/**
 * IP warmup: per (source, provider) — or (source, site) when no provider rule matches — the plan's day and what was
 * sent today and this hour, against the caps of the source's {@link WarmupPlan}.
 *
 * <ul>
 * <li><b>Counting</b> is when a message starts on the source (its message token is taken), whatever its outcome (a
 * deferral is volume the provider saw; a retry counts again); a source whose cap is used up gets no token, so the pool's
 * other sources take the mail. A source choice alone counts nothing: delivery may choose again before it starts.
 * Deliveries are counted too, for display.</li>
 * <li><b>Days</b> are UTC calendar days. The first message of a new day moves the plan one day on, if the day before
 * it carried mail and the provider sent no negative signal to the source (a decrease or suspension of one of its
 * paths to the provider) in the 24 hours before; otherwise the day is repeated (the event log says why). Idle days
 * do not count, and a gap of several days moves the plan one day at most.</li>
 * <li>State is small (one entry per source and provider); what changed is flushed to a {@link WarmupStore} by the
 * shaping service's ticker, off the hot path.</li>
 * </ul>
 *
 * <p>Threading: a concurrent map of entries, each guarded by its own monitor (two sources, or one source towards two
 * providers, never wait for each other); every operation is O(1) and does no I/O.
 */
final class Warmup {

    /** How long a negative signal holds back advancement. */
    static final Duration HOLD = Duration.ofHours(24);
    static final String STRATEGY = "warmup";

    private final Map<Key, Entry> entries = new java.util.concurrent.ConcurrentHashMap<>();
    private final Consumer<ShapingEvent> events;
    private volatile boolean dirty;

    Warmup(Consumer<ShapingEvent> events) {
        this.events = events;
    }

    record Key(String source, String target) {
    }

    /** Mutable state of one (source, target); guarded by its own monitor. */
    static final class Entry {
        int day = 1;
        LocalDate date;
        long sentToday;
        long deliveredToday;
        long hour = -1;
        long sentThisHour;
        Instant lastNegative;
        String negativeWhy;
        String held;
        boolean capEventSent;
        /** Changed since the last flush to the {@link WarmupStore}. */
        boolean changed;
    }

    /** The target key: the provider's name, else {@code site:KEY}. */
    static String target(String provider, String siteKey) {
        return provider != null ? provider : "site:" + siteKey;
    }

    /** True when {@code plan} lets the source send one more message to the target at {@code now}. */
    boolean hasRoom(WarmupPlan plan, String source, String target, String siteKey, Instant now) {
        Entry e = entries.get(new Key(source, target));
        if (e == null) {
            return plan.capOn(1) > 0;
        }
        synchronized (e) {
            roll(e, plan, source, target, siteKey, now);
            long cap = plan.capOn(e.day);
            if (cap == 0) {
                return true;
            }
            long hourly = plan.hourlyCapOn(e.day);
            return e.sentToday < cap && (hourly == 0 || e.sentThisHour < hourly);
        }
    }

    /** Counts one message assigned to the source for the target. */
    void count(WarmupPlan plan, String source, String target, String siteKey, Instant now) {
        Entry e = entries.computeIfAbsent(new Key(source, target), k -> new Entry());
        synchronized (e) {
            countLocked(e, plan, source, target, siteKey, now);
        }
    }

    private void countLocked(Entry e, WarmupPlan plan, String source, String target, String siteKey, Instant now) {
        roll(e, plan, source, target, siteKey, now);
        e.sentToday++;
        e.sentThisHour++;
        touch(e);
        long cap = plan.capOn(e.day);
        if (cap > 0 && e.sentToday >= cap && !e.capEventSent) {
            e.capEventSent = true;
            emit(now, source, siteKey, plan, "cap reached: " + e.sentToday + "/" + cap + " today (day " + e.day
                    + "); other sources of the pool take the rest", List.of(), nextDay(now));
        }
    }

    /** A delivery from the source to the target (display only). */
    void delivered(String source, String target, Instant now) {
        Entry e = entries.get(new Key(source, target));
        if (e == null) {
            return;
        }
        synchronized (e) {
            if (e.date != null && e.date.equals(day(now))) {
                e.deliveredToday++;
                touch(e);
            }
        }
    }

    /** The provider sent the source a negative signal (a decrease or suspension of one of its paths). */
    void negative(String source, String target, Instant when, String why) {
        Entry e = entries.get(new Key(source, target));
        if (e == null) {
            return;
        }
        synchronized (e) {
            if (e.lastNegative == null || !when.isBefore(e.lastNegative)) {
                e.lastNegative = when;
                e.negativeWhy = why;
                touch(e);
            }
        }
    }

    /** Moves the entry to today's date: one plan day on, or held (with an event either way when it was used). */
    private void roll(Entry e, WarmupPlan plan, String source, String target, String siteKey, Instant now) {
        LocalDate today = day(now);
        if (e.date == null) {
            e.date = today;
            touch(e);
        } else if (today.isAfter(e.date)) {
            boolean used = e.sentToday > 0;
            boolean negative = e.lastNegative != null && now.isBefore(e.lastNegative.plus(HOLD));
            int before = e.day;
            if (used && !negative) {
                e.day++;
                e.held = null;
                if (before <= plan.caps().size()) {
                    long cap = plan.capOn(e.day);
                    emit(now, source, siteKey, plan, "day " + before + " -> " + e.day + ": "
                            + (cap == 0 ? "warm, no cap" : "cap " + cap + "/day"), List.of(), null);
                }
            } else if (used) {
                e.held = "held at day " + e.day + ": " + e.negativeWhy + " at " + e.lastNegative;
                emit(now, source, siteKey, plan, e.held, List.of(e.negativeWhy), e.lastNegative.plus(HOLD));
            } else {
                e.held = null; // an idle day does not count
            }
            e.date = today;
            e.sentToday = 0;
            e.deliveredToday = 0;
            e.capEventSent = false;
            touch(e);
        }
        long hour = now.getEpochSecond() / 3600;
        if (hour != e.hour) {
            e.hour = hour;
            e.sentThisHour = 0;
            touch(e);
        }
    }

    private void emit(Instant now, String source, String siteKey, WarmupPlan plan, String action, List<String> why,
                      Instant reconsider) {
        events.accept(new ShapingEvent(now, new EgressPath(source, siteKey), STRATEGY, plan.origin().toString(),
                "warmup " + action, null, null, why, reconsider));
    }

    private static LocalDate day(Instant t) {
        return LocalDate.ofInstant(t, ZoneOffset.UTC);
    }

    private static Instant nextDay(Instant now) {
        return day(now).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /**
     * The state of every entry whose source has a plan now, as of {@code now} (without moving any entry on: what
     * the next message would find is shown, not applied).
     */
    List<WarmupStatus> status(Rules rules, String sourceFilter, Instant now) {
        List<WarmupStatus> out = new ArrayList<>();
        LocalDate today = day(now);
        long hourNow = now.getEpochSecond() / 3600;
        for (Map.Entry<Key, Entry> me : entries.entrySet()) {
            Key k = me.getKey();
            Entry e = me.getValue();
            if (sourceFilter != null && !sourceFilter.equals(k.source())) {
                continue;
            }
            WarmupPlan plan = rules.warmupFor(k.source(), k.target().startsWith("site:") ? null : k.target());
            if (plan == null) {
                continue;
            }
            synchronized (e) {
                out.add(statusOf(k, e, plan, today, hourNow, now));
            }
        }
        out.sort(Comparator.comparing(WarmupStatus::source).thenComparing(WarmupStatus::target));
        return out;
    }

    private static WarmupStatus statusOf(Key k, Entry e, WarmupPlan plan, LocalDate today, long hourNow,
                                         Instant now) {
        boolean sameDay = e.date != null && e.date.equals(today);
        boolean negative = e.lastNegative != null && now.isBefore(e.lastNegative.plus(HOLD));
        int day = e.day;
        String held = e.held;
        if (!sameDay && e.sentToday > 0) { // what the first message today will do
            day = negative ? e.day : e.day + 1;
            held = negative ? "held at day " + e.day + ": " + e.negativeWhy + " at " + e.lastNegative : null;
        }
        if (negative && held == null) {
            held = "next day held back: " + e.negativeWhy + " at " + e.lastNegative;
        }
        return new WarmupStatus(k.source(), k.target(), day, plan.caps().size(), plan.curve(), plan.capOn(day),
                sameDay ? e.sentToday : 0, sameDay ? e.deliveredToday : 0, plan.hourlyCapOn(day),
                sameDay && e.hour == hourNow ? e.sentThisHour : 0, held,
                negative ? e.lastNegative.plus(HOLD) : null, plan.origin().toString());
    }

    // ---- persistence (WarmupStore) ----

    private void touch(Entry e) {
        e.changed = true;
        dirty = true;
    }

    /** Copies of the entries changed since the last call (their flags cleared), or an empty map. */
    Map<Key, Entry> takeChanged() {
        if (!dirty) {
            return Map.of();
        }
        dirty = false; // before the pass: a change during it sets it again
        Map<Key, Entry> copy = new HashMap<>();
        entries.forEach((k, e) -> {
            synchronized (e) {
                if (e.changed) {
                    e.changed = false;
                    copy.put(k, copy(e));
                }
            }
        });
        return copy;
    }

    /** The flush of these entries failed: they are taken again by the next {@link #takeChanged}. */
    void unsaved(Map<Key, Entry> failed) {
        for (Key k : failed.keySet()) {
            Entry e = entries.get(k);
            if (e != null) {
                synchronized (e) {
                    touch(e);
                }
            }
        }
    }

    /** Replaces every entry with the stored ones (nothing changed since); at start, before any message. */
    synchronized void restore(Map<Key, Entry> loaded) {
        entries.clear();
        loaded.forEach((k, e) -> {
            e.changed = false;
            entries.put(k, e);
        });
        dirty = false;
    }

    private static Entry copy(Entry e) {
        Entry c = new Entry();
        c.day = e.day;
        c.date = e.date;
        c.sentToday = e.sentToday;
        c.deliveredToday = e.deliveredToday;
        c.hour = e.hour;
        c.sentThisHour = e.sentThisHour;
        c.lastNegative = e.lastNegative;
        c.negativeWhy = e.negativeWhy;
        c.held = e.held;
        c.capEventSent = e.capEventSent;
        return c;
    }
}
