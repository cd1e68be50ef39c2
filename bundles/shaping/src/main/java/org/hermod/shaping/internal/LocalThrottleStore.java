package org.hermod.shaping.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The default {@link ThrottleStore}: GCRA cells in memory. A take of several cells is all or nothing without a lock:
 * each cell's token is taken by compare-and-set, and when a later cell has none the tokens taken before are given
 * back, so a path token is never spent when its site or source has none. Between a take and its give-back another
 * caller may find one of those cells empty a moment early (and is told to come back later): never more tokens than
 * the rates allow, at worst one retry.
 */
public final class LocalThrottleStore implements ThrottleStore {

    private final ConcurrentMap<String, Gcra> cells = new ConcurrentHashMap<>();

    @Override
    public Duration tryTakeAll(List<Take> takes, Instant now) {
        long t = Gcra.nanos(now);
        Gcra[] resolved = new Gcra[takes.size()];
        for (int i = 0; i < resolved.length; i++) {
            Take take = takes.get(i);
            resolved[i] = take.perSecond() > 0 ? cell(take.key(), take.burst()) : null;
        }
        for (int i = 0; i < resolved.length; i++) {
            if (resolved[i] == null) {
                continue;
            }
            long wait = resolved[i].tryTakeNanos(takes.get(i).perSecond(), t);
            if (wait > 0) {
                for (int j = 0; j < i; j++) {
                    if (resolved[j] != null) {
                        resolved[j].giveBack(takes.get(j).perSecond());
                    }
                }
                for (int j = i + 1; j < resolved.length; j++) {
                    if (resolved[j] != null) {
                        wait = Math.max(wait, resolved[j].waitNanos(takes.get(j).perSecond(), t));
                    }
                }
                return Duration.ofNanos(wait);
            }
        }
        return Duration.ZERO;
    }

    @Override
    public PathCells cells(String pathKey, String siteKey, String sourceKey) {
        Gcra path = cell(pathKey, 1);
        Gcra site = cell(siteKey, 1);
        Gcra source = cell(sourceKey, 1);
        return (pathRate, siteRate, sourceRate, now) -> {
            if (pathRate <= 0 && siteRate <= 0 && sourceRate <= 0) {
                return Duration.ZERO;
            }
            long t = Gcra.nanos(now);
            long wait = path.tryTakeNanos(pathRate, t);
            if (wait > 0) {
                wait = Math.max(wait, Math.max(site.waitNanos(siteRate, t), source.waitNanos(sourceRate, t)));
                return Duration.ofNanos(wait);
            }
            wait = site.tryTakeNanos(siteRate, t);
            if (wait > 0) {
                path.giveBack(pathRate);
                return Duration.ofNanos(Math.max(wait, source.waitNanos(sourceRate, t)));
            }
            wait = source.tryTakeNanos(sourceRate, t);
            if (wait > 0) {
                path.giveBack(pathRate);
                site.giveBack(siteRate);
                return Duration.ofNanos(wait);
            }
            return Duration.ZERO;
        };
    }

    private Gcra cell(String key, int burst) {
        Gcra g = cells.get(key);
        return g != null ? g : cells.computeIfAbsent(key, k -> new Gcra(Math.max(1, burst)));
    }

    @Override
    public int size() {
        return cells.size();
    }
}
