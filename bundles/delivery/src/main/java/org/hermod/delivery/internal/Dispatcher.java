package org.hermod.delivery.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.Site;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.delivery.internal.egress.Egress;
import org.hermod.delivery.internal.egress.SiteDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves due work from the spool's per-domain scheduled queues into ready queues per egress path (source × site) and
 * starts deliveries there within the path's limits (KumoMTA's queue split). When the queue signals new due items, when
 * a delivery ends, when a rate-limited path's next token is due, and once a second, it:
 * <ol>
 * <li>starts what the path queues' limits allow: connections in use on the path below its maximum, a message token
 *     from shaping (a limited path is woken exactly when its next token is due), not suspended;</li>
 * <li>walks the ready domains round-robin, finds each one's site (MX rollup, {@link SiteDirectory}), and leases as
 *     many items as the site can start soon, bounded per site; each item goes to the path of the source that shaping
 *     chooses from the sender's pool (or waits, leased, until a source of the pool may send).</li>
 * </ol>
 * One slow site or one blocked source holds up only its own paths. It never scans the queue.
 *
 * <p>All pumping runs on the one scheduler thread given, under this object's lock ({@link #stop} takes it to switch
 * leasing off); deliveries run asynchronously.
 */
public final class Dispatcher {

    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
    /** Items of one site leased and waiting in memory (path queues and items without a source yet) at most. */
    static final int SITE_BACKLOG = 200;

    private final DeliveryQueue queue;
    private final Deliverer deliverer;
    private final DestinationLimits limits;
    private final Supplier<DeliverySettings> settings;
    private final ScheduledExecutorService scheduler;
    private final Supplier<Shaping> shaping;
    private final SiteDirectory sites;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Set<DeliveryItem> inFlight = ConcurrentHashMap.newKeySet();
    private final Runnable readyListener = this::wake;
    private volatile boolean running;
    private ScheduledFuture<?> tick;
    /** Where the next pump starts in the ready domains (round-robin); guarded by this. */
    private int nextDomain;
    /** After a delivery could not even start: no leasing until then (the tick retries instead of a spin). */
    private volatile long pausedUntil = System.nanoTime();

    /** Ready queues per egress path, by pool key; guarded by this. */
    private final Map<String, PathQueue> paths = new LinkedHashMap<>();
    /** Leased items whose pool has no source that may send now, per site key; guarded by this. */
    private final Map<String, ArrayDeque<Waiting>> unassigned = new HashMap<>();
    /** Per site key: items leased and waiting (not yet started); guarded by this. */
    private final Map<String, Integer> backlog = new HashMap<>();
    /** Per site key: deliveries running; guarded by this. */
    private final Map<String, Integer> running_ = new HashMap<>();

    private record Waiting(DeliveryItem item, Site site) {
    }

    private final class PathQueue {
        final EgressSource source;
        final Site site;
        final String key;
        final ArrayDeque<DeliveryItem> items = new ArrayDeque<>();
        long notBefore = System.nanoTime();
        ScheduledFuture<?> wakeup;

        PathQueue(EgressSource source, Site site) {
            this.source = source;
            this.site = site;
            this.key = new Egress(source, site, org.hermod.api.shaping.Limits.DEFAULT).poolKey();
        }

        EgressPath path() {
            return new EgressPath(source.name(), site.key());
        }
    }

    public Dispatcher(DeliveryQueue queue, Deliverer deliverer, DestinationLimits limits, Supplier<DeliverySettings> settings,
                      ScheduledExecutorService scheduler, Supplier<Shaping> shaping, SiteDirectory sites) {
        this.queue = queue;
        this.deliverer = deliverer;
        this.limits = limits;
        this.settings = settings;
        this.scheduler = scheduler;
        this.shaping = shaping;
        this.sites = sites;
    }

    public synchronized void start() {
        running = true;
        queue.addReadyListener(readyListener);
        tick = scheduler.scheduleWithFixedDelay(this::pump, 0, 1, TimeUnit.SECONDS);
    }

    /** Asks for a pump soon; cheap and non-blocking, coalesces bursts of wake-ups. */
    public void wake() {
        if (running && wakePending.compareAndSet(false, true)) {
            try {
                scheduler.execute(() -> {
                    wakePending.set(false);
                    pump();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                wakePending.set(false);
            }
        }
    }

    synchronized void pump() {
        if (!running || System.nanoTime() - pausedUntil < 0) {
            return;
        }
        try {
            Shaping sh = shaping.get();
            Instant now = Instant.now();
            assignWaiting(sh, now);
            for (PathQueue pq : List.copyOf(paths.values())) {
                dispatch(pq, sh, now);
            }
            leaseNewWork(sh, now);
        } catch (RuntimeException e) {
            LOG.error("dispatcher pump failed", e);
        }
    }

    /** Walks the ready domains round-robin and leases what their sites can start soon. */
    private void leaseNewWork(Shaping sh, Instant now) {
        List<String> domains = List.copyOf(queue.readyDomains());
        int n = domains.size();
        int start = n == 0 ? 0 : Math.floorMod(nextDomain, n);
        int sources = Math.max(1, sh.sources().size());
        for (int k = 0; k < n; k++) {
            int index = (start + k) % n;
            String domain = domains.get(index);
            if (!limits.globalSpare() || !running) {
                return;
            }
            Site site = sites.siteOf(domain);
            if (site == null) {
                continue; // looked up now; the answer wakes us
            }
            int waiting = backlog.getOrDefault(site.key(), 0);
            int active = running_.getOrDefault(site.key(), 0);
            // what the site's paths can start soon: the first source's path maximum for every source, less what runs
            // and waits already (a rate-limited path gets work as its tokens come, not all at once)
            EgressPath probe = new EgressPath(sh.sources().isEmpty() ? "default" : sh.sources().get(0).name(), site.key());
            int max = sh.decide(probe, site, domain, now).limits().maxConnections() * sources;
            int totalWaiting = backlog.values().stream().mapToInt(Integer::intValue).sum();
            int want = Math.min(Math.min(SITE_BACKLOG - waiting, max - active - waiting),
                    limits.globalSpareCount() - totalWaiting); // under the global limit, domains take turns
            if (want <= 0) {
                continue;
            }
            List<DeliveryItem> items = queue.lease(domain, want);
            if (!items.isEmpty()) {
                nextDomain = index + 1;
            }
            for (DeliveryItem item : items) {
                backlog.merge(site.key(), 1, Integer::sum);
                PathQueue pq = assign(item, site, sh, now);
                if (pq != null) {
                    dispatch(pq, sh, now);
                }
            }
        }
    }

    /** Puts the item on the ready queue of the source shaping chooses, or into the site's waiting list. */
    private PathQueue assign(DeliveryItem item, Site site, Shaping sh, Instant now) {
        String sender = item.envelope().sender().isNullSender() ? "" : item.envelope().sender().domainKey();
        Optional<EgressSource> source;
        try {
            source = sh.choose(sh.poolFor(sender), site, item.domain(), now);
        } catch (RuntimeException e) {
            LOG.warn("choosing a source for {} failed: {}", item.queueId(), e.toString());
            source = Optional.empty();
        }
        if (source.isEmpty()) {
            unassigned.computeIfAbsent(site.key(), k -> new ArrayDeque<>()).add(new Waiting(item, site));
            return null;
        }
        EgressSource src = source.get();
        String key = new Egress(src, site, org.hermod.api.shaping.Limits.DEFAULT).poolKey();
        PathQueue pq = paths.computeIfAbsent(key, k -> new PathQueue(src, site));
        pq.items.add(item);
        return pq;
    }

    private void assignWaiting(Shaping sh, Instant now) {
        for (Iterator<Map.Entry<String, ArrayDeque<Waiting>>> it = unassigned.entrySet().iterator(); it.hasNext(); ) {
            ArrayDeque<Waiting> q = it.next().getValue();
            int n = q.size();
            for (int i = 0; i < n; i++) {
                Waiting w = q.poll();
                String sender = w.item().envelope().sender().isNullSender() ? ""
                        : w.item().envelope().sender().domainKey();
                Optional<EgressSource> source = sh.choose(sh.poolFor(sender), w.site(), w.item().domain(), now);
                if (source.isEmpty()) {
                    q.add(w);
                    continue;
                }
                EgressSource src = source.get();
                String key = new Egress(src, w.site(), org.hermod.api.shaping.Limits.DEFAULT).poolKey();
                paths.computeIfAbsent(key, k -> new PathQueue(src, w.site())).items.add(w.item());
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Starts what the path's limits allow now; schedules a wake-up when a token or the end of a suspension is due. */
    private void dispatch(PathQueue pq, Shaping sh, Instant now) {
        while (!pq.items.isEmpty() && running) {
            long t = System.nanoTime();
            if (t - pq.notBefore < 0) {
                wakeAt(pq, pq.notBefore - t);
                return;
            }
            DeliveryItem next = pq.items.peek();
            PathDecision d = sh.decide(pq.path(), pq.site, next.domain(), now);
            if (d.suspendedAt(now)) {
                long nanos = Duration.between(now, d.suspendedUntil()).toNanos();
                pq.notBefore = t + nanos;
                wakeAt(pq, Math.min(nanos, TimeUnit.SECONDS.toNanos(60)));
                return;
            }
            if (!limits.tryAcquire(pq.key, d.limits().maxConnections())) {
                return; // a delivery ending on the path wakes us
            }
            Duration wait = sh.acquireMessage(pq.path(), pq.site, next.domain(), now);
            if (!wait.isZero() && !wait.isNegative()) {
                limits.release(pq.key);
                pq.notBefore = t + wait.toNanos();
                wakeAt(pq, wait.toNanos());
                return;
            }
            pq.items.poll();
            backlog.merge(pq.site.key(), -1, Integer::sum);
            running_.merge(pq.site.key(), 1, Integer::sum);
            launch(next, new Egress(pq.source, pq.site, d.limits()), pq.key);
        }
        if (pq.items.isEmpty() && pq.wakeup == null) {
            paths.remove(pq.key, pq);
        }
    }

    private void wakeAt(PathQueue pq, long nanos) {
        if (pq.wakeup != null && !pq.wakeup.isDone()) {
            return;
        }
        try {
            pq.wakeup = scheduler.schedule(() -> {
                synchronized (this) {
                    pq.wakeup = null;
                }
                pump();
            }, Math.max(0, nanos), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            pq.wakeup = null;
        }
    }

    /** Starts one delivery; whatever goes wrong, the lease and the slot are given back. */
    private void launch(DeliveryItem leased, Egress egress, String key) {
        try {
            inFlight.add(leased);
            deliverer.deliver(leased, egress).whenComplete((v, t) -> {
                inFlight.remove(leased);
                limits.release(key);
                synchronized (this) {
                    running_.merge(egress.site().key(), -1, Integer::sum);
                }
                wake();
            });
        } catch (RuntimeException e) {
            LOG.error("could not start the delivery of {} to {}; releasing it", leased.queueId(), leased.domain(), e);
            pausedUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            inFlight.remove(leased);
            limits.release(key);
            running_.merge(egress.site().key(), -1, Integer::sum);
            try {
                leased.release();
            } catch (RuntimeException r) {
                LOG.error("could not release {}", leased.queueId(), r);
            }
        }
    }

    public int inFlight() {
        return inFlight.size();
    }

    /** Items leased and waiting in the path queues (for the console and tests). */
    public synchronized Map<String, Integer> waitingByPath() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        paths.forEach((k, pq) -> out.put(k, pq.items.size()));
        unassigned.forEach((site, q) -> out.put("(no source)->" + site, q.size()));
        return out;
    }

    /**
     * Stops leasing and gives back what waits in the path queues; waits up to {@code waitMillis} for running
     * deliveries, then releases the leases of those still running (they are tried again later; a delivery that
     * completes afterwards is ignored).
     */
    public void stop(long waitMillis) {
        List<DeliveryItem> waiting = new ArrayList<>();
        synchronized (this) {
            running = false;
            queue.removeReadyListener(readyListener);
            if (tick != null) {
                tick.cancel(false);
            }
            for (PathQueue pq : paths.values()) {
                waiting.addAll(pq.items);
                if (pq.wakeup != null) {
                    pq.wakeup.cancel(false);
                }
            }
            unassigned.values().forEach(q -> q.forEach(w -> waiting.add(w.item())));
            paths.clear();
            unassigned.clear();
            backlog.clear();
        }
        waiting.forEach(DeliveryItem::release);
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        while (!inFlight.isEmpty() && System.nanoTime() < end) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (DeliveryItem l : inFlight) {
            if (l.release()) {
                LOG.info("released {} ({}) at shutdown", l.queueId(), l.domain());
            }
        }
    }
}
