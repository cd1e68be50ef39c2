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
import org.hermod.delivery.internal.egress.Smarthost;
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
 *     chooses from the sender's pool (or waits, leased, until a source of the pool may send). An item whose route
 *     names a smarthost goes to the smarthost's site ({@link Smarthost#site}) instead of its domain's: the
 *     smarthost's paths, limits and pooled connections serve every domain routed to it. (The domain's own site is
 *     still looked up first, as for all leasing; its limits bound how much of the domain is leased at once.)</li>
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

    /** Pools named by routes that shaping does not know (warned about once each). */
    private final java.util.Set<String> unknownPools = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Ready queues per pool and site ({@code pool@site}); guarded by this. */
    private final Map<String, SiteQueue> queues = new LinkedHashMap<>();
    /** Per site key: items leased and waiting (not yet started); guarded by this. */
    private final Map<String, Integer> backlog = new HashMap<>();
    /** Per site key: deliveries running; guarded by this. */
    private final Map<String, Integer> running_ = new HashMap<>();
    /** Per source name: deliveries running; guarded by this. */
    private final Map<String, Integer> runningBySource = new HashMap<>();
    /** Items moved to another pool's queue in the current pump (each moves at most once a pump: no ping-pong). */
    private final java.util.Set<DeliveryItem> movedThisPump =
            java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    /** Idle pooled connections per path key: a delivery that can reuse one needs no connection token. */
    private final java.util.function.ToIntFunction<String> idleConnections;

    /**
     * The mail of one pool to one site, waiting for a path of the pool that may start it: the pool's sources pull from
     * it, so a source that is slow (rate-limited, suspended, at its connection limit) holds up nothing the others
     * could send.
     */
    private final class SiteQueue {
        final String pool;
        final Site site;
        final String key;
        final ArrayDeque<DeliveryItem> items = new ArrayDeque<>();
        ScheduledFuture<?> wakeup;

        SiteQueue(String pool, Site site) {
            this.pool = pool;
            this.site = site;
            this.key = pool + "@" + site.key();
        }
    }

    public Dispatcher(DeliveryQueue queue, Deliverer deliverer, DestinationLimits limits, ScheduledExecutorService scheduler, Supplier<Shaping> shaping, SiteDirectory sites,
                      java.util.function.ToIntFunction<String> idleConnections) {
        this.idleConnections = idleConnections;
        this.queue = queue;
        this.deliverer = deliverer;
        this.limits = limits;
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
            movedThisPump.clear();
            for (SiteQueue q : List.copyOf(queues.values())) {
                dispatch(q, sh, now);
            }
            for (SiteQueue q : List.copyOf(queues.values())) {
                if (!q.items.isEmpty() && (q.wakeup == null || q.wakeup.isDone())) {
                    dispatch(q, sh, now); // queues that received diverted mail in this pump
                }
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
            int want = Math.min(Math.min(SITE_BACKLOG - waiting, max - active - waiting),
                    limits.globalSpareCount()); // under the global limit, domains take turns
            if (want <= 0) {
                continue;
            }
            List<DeliveryItem> items = queue.lease(domain, want);
            if (!items.isEmpty()) {
                nextDomain = index + 1;
            }
            Set<String> touched = new java.util.HashSet<>();
            for (DeliveryItem item : items) {
                Site target = siteFor(item, site);
                touched.add(target.key());
                backlog.merge(target.key(), 1, Integer::sum);
                queueFor(item, target, sh).items.add(item);
            }
            if (!items.isEmpty()) {
                for (SiteQueue q : List.copyOf(queues.values())) {
                    if (touched.contains(q.site.key())) {
                        dispatch(q, sh, now);
                    }
                }
            }
        }
    }

    /**
     * The site an item goes to: its route's smarthost ({@code smarthost:[host]:port}, shared by every domain routed
     * there) or its domain's MX site.
     */
    private static Site siteFor(DeliveryItem item, Site domainSite) {
        org.hermod.api.routing.Route.HostPort smarthost;
        try {
            smarthost = Smarthost.of(item.route());
        } catch (RuntimeException e) {
            smarthost = null;
        }
        return smarthost == null ? domainSite : Smarthost.site(smarthost);
    }

    /**
     * The queue of the item's pool at the site: the pool its route names (set by a routing filter) when shaping knows
     * that pool, else the pool of its sender's domain.
     */
    private SiteQueue queueFor(DeliveryItem item, Site site, Shaping sh) {
        String sender = item.envelope().sender().isNullSender() ? "" : item.envelope().sender().domainKey();
        String pool;
        try {
            String routed = item.route().pool();
            pool = routed != null && knowsPool(sh, routed) ? routed : sh.poolFor(sender);
            if (routed != null && !routed.equals(pool) && unknownPools.add(routed)) {
                LOG.warn("{} is routed to pool {} which shaping does not configure: it uses pool {} (logged once)",
                        item.queueId(), routed, pool);
            }
        } catch (RuntimeException e) {
            LOG.warn("no pool for {}: {}", item.queueId(), e.toString());
            pool = "";
        }
        String p = pool == null ? "" : pool;
        return queues.computeIfAbsent(p + "@" + site.key(), k -> new SiteQueue(p, site));
    }

    /**
     * Starts what the queue's pool can start now: for the item at the head, each source the pool offers in turn
     * (weighted) until one whose path is not suspended, has a connection free, and has a message token (and a
     * connection token when it has no idle connection to reuse). When none can, the queue is woken when the earliest
     * token or the end of the earliest suspension is due (at least once a minute), and by any delivery that ends.
     * Suspensions are asked for anew each time, so a resume takes effect at the next pump.
     */
    private void dispatch(SiteQueue q, Shaping sh, Instant now) {
        int members = poolSize(sh, q.pool);
        while (!q.items.isEmpty() && running) {
            DeliveryItem next = q.items.peek();
            int siteMax = safely(() -> sh.maxSiteConnections(q.site, next.domain()));
            if (siteMax > 0 && running_.getOrDefault(q.site.key(), 0) >= siteMax) {
                return; // the site is at its connection cap across sources: a delivery ending there wakes us
            }
            long earliest = Long.MAX_VALUE;
            boolean started = false;
            boolean diverted = false;
            for (int k = 0; k < members && !started; k++) {
                Optional<EgressSource> src;
                PathDecision d;
                EgressPath path;
                try {
                    src = sh.choose(q.pool, q.site, next.domain(), now);
                    if (src.isEmpty()) {
                        break; // no source of the pool may send now
                    }
                    path = new EgressPath(src.get().name(), q.site.key());
                    d = sh.decide(path, q.site, next.domain(), now);
                } catch (RuntimeException e) {
                    LOG.warn("shaping failed for {} at {}: {}", next.queueId(), q.site.key(), e.toString());
                    earliest = Math.min(earliest, TimeUnit.SECONDS.toNanos(5));
                    break;
                }
                String sourceName = src.get().name();
                if (d.bounceReason() != null) {
                    // a response rule returns this path's mail to its senders: no connection, no token
                    String key = new Egress(src.get(), q.site, d.limits()).poolKey();
                    if (!limits.tryAcquire(key, Math.max(1, d.limits().maxConnections()))) {
                        continue;
                    }
                    q.items.poll();
                    backlog.merge(q.site.key(), -1, Integer::sum);
                    running_.merge(q.site.key(), 1, Integer::sum);
                    runningBySource.merge(sourceName, 1, Integer::sum);
                    launch(next, new Egress(src.get(), q.site, d.limits(), d.bounceReason()), key);
                    started = true;
                    break;
                }
                String divert = d.divertToPool();
                if (divert != null && !divert.equals(q.pool) && movedThisPump.add(next)) {
                    // a response rule moves this path's mail to another pool: the item goes to that pool's queue
                    q.items.poll();
                    queues.computeIfAbsent(divert + "@" + q.site.key(), x -> new SiteQueue(divert, q.site)).items.add(next);
                    diverted = true;
                    break;
                }
                if (d.suspendedAt(now)) {
                    earliest = Math.min(earliest, nanosUntil(now, d.suspendedUntil()));
                    continue;
                }
                int sourceMax = safely(() -> sh.maxSourceConnections(sourceName));
                if (sourceMax > 0 && runningBySource.getOrDefault(sourceName, 0) >= sourceMax) {
                    continue; // the source is at its cap across sites
                }
                String key = new Egress(src.get(), q.site, d.limits()).poolKey();
                if (!limits.tryAcquire(key, d.limits().maxConnections())) {
                    continue; // a delivery ending on the path wakes us
                }
                Duration wait = sh.acquireMessage(path, q.site, next.domain(), now);
                if (wait.isZero() || wait.isNegative()) {
                    if (idleConnections.applyAsInt(key) == 0) {
                        wait = sh.acquireConnection(path, q.site, next.domain(), now);
                    }
                }
                if (!wait.isZero() && !wait.isNegative()) {
                    limits.release(key);
                    earliest = Math.min(earliest, Math.max(1, wait.toNanos()));
                    continue;
                }
                q.items.poll();
                backlog.merge(q.site.key(), -1, Integer::sum);
                running_.merge(q.site.key(), 1, Integer::sum);
                runningBySource.merge(sourceName, 1, Integer::sum);
                launch(next, new Egress(src.get(), q.site, d.limits(), d.bounceReason()), key);
                started = true;
            }
            if (diverted) {
                continue; // the item now waits in the other pool's queue, dispatched later in this pump or the next
            }
            if (!started) {
                wakeAt(q, earliest == Long.MAX_VALUE ? TimeUnit.SECONDS.toNanos(60) : earliest);
                return;
            }
        }
        if (q.items.isEmpty() && (q.wakeup == null || q.wakeup.isDone())) {
            queues.remove(q.key, q);
        }
    }

    /** A cap from shaping; 0 (none) when shaping fails. */
    private static int safely(java.util.function.IntSupplier cap) {
        try {
            return cap.getAsInt();
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }

    private static boolean knowsPool(Shaping sh, String pool) {
        return sh.pools().stream().anyMatch(p -> p.name().equals(pool));
    }

    private static int poolSize(Shaping sh, String pool) {
        try {
            for (org.hermod.api.shaping.Pool p : sh.pools()) {
                if (p.name().equals(pool)) {
                    return Math.max(1, p.members().size());
                }
            }
            return Math.max(1, sh.sources().size());
        } catch (RuntimeException e) {
            return 1;
        }
    }

    /** Nanos until {@code until} (a strategy may say "until resumed" with a far future): at most a minute. */
    private static long nanosUntil(Instant now, Instant until) {
        long cap = TimeUnit.SECONDS.toNanos(60);
        try {
            return Math.max(1, Math.min(cap, Duration.between(now, until).toNanos()));
        } catch (ArithmeticException e) {
            return cap;
        }
    }

    private void wakeAt(SiteQueue q, long nanos) {
        if (q.wakeup != null && !q.wakeup.isDone()) {
            return;
        }
        try {
            q.wakeup = scheduler.schedule(this::pump, Math.max(0, nanos), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            q.wakeup = null;
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
                    runningBySource.merge(egress.source().name(), -1, Integer::sum);
                }
                wake();
            });
        } catch (RuntimeException e) {
            LOG.error("could not start the delivery of {} to {}; releasing it", leased.queueId(), leased.domain(), e);
            pausedUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            inFlight.remove(leased);
            limits.release(key);
            running_.merge(egress.site().key(), -1, Integer::sum);
            runningBySource.merge(egress.source().name(), -1, Integer::sum);
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

    /** Items leased and waiting, per pool and site ({@code pool@site}), for the console and tests. */
    public synchronized Map<String, Integer> waitingByPath() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        queues.forEach((k, q) -> out.put(k, q.items.size()));
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
            for (SiteQueue q : queues.values()) {
                waiting.addAll(q.items);
                if (q.wakeup != null) {
                    q.wakeup.cancel(false);
                }
            }
            queues.clear();
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
