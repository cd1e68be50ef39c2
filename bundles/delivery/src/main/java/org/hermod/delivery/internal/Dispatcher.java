package org.hermod.delivery.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DeliveryQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes due work from the spool's per-domain ready queues: when the queue signals new due items, when a delivery ends,
 * and once a second, it walks {@link DeliveryQueue#readyDomains()} and leases as many items per domain as
 * {@link DestinationLimits} allow (one item = one delivery = at most one connection at a time). It never scans the queue.
 *
 * <p>All pumping runs on the one scheduler thread given (and under this object's lock, which {@link #stop} takes to
 * switch leasing off); deliveries run asynchronously.
 */
public final class Dispatcher {

    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final DeliveryQueue queue;
    private final Deliverer deliverer;
    private final DestinationLimits limits;
    private final Supplier<DeliverySettings> settings;
    private final ScheduledExecutorService scheduler;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Set<DeliveryItem> inFlight = ConcurrentHashMap.newKeySet();
    private final Runnable readyListener = this::wake;
    private volatile boolean running;
    private ScheduledFuture<?> tick;
    /** Where the next pump starts in the ready domains (round-robin); guarded by this. */
    private int nextDomain;
    /**
     * After a delivery could not even start (its lease was given back, so the queue calls it due again at once), no
     * leasing until this nano time: the once-a-second tick retries instead of a spin of lease and release.
     */
    private volatile long pausedUntil = System.nanoTime();

    public Dispatcher(DeliveryQueue queue, Deliverer deliverer, DestinationLimits limits, Supplier<DeliverySettings> settings,
                      ScheduledExecutorService scheduler) {
        this.queue = queue;
        this.deliverer = deliverer;
        this.limits = limits;
        this.settings = settings;
        this.scheduler = scheduler;
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

    /**
     * Leases and starts what the limits allow. Synchronized with {@link #stop}'s switch-off, so that no lease is taken
     * after stop has begun. Domains are walked round-robin: each pump starts after the last domain that got a slot in the
     * previous one, so that under the global limit the first ready domains do not starve the others.
     */
    synchronized void pump() {
        if (!running || System.nanoTime() - pausedUntil < 0) {
            return;
        }
        try {
            DeliverySettings s = settings.get();
            List<String> domains = List.copyOf(queue.readyDomains());
            int n = domains.size();
            int start = n == 0 ? 0 : Math.floorMod(nextDomain, n);
            for (int k = 0; k < n; k++) {
                int index = (start + k) % n;
                String domain = domains.get(index);
                if (!limits.globalSpare() || !running) {
                    return;
                }
                int domainMax = s.policy(domain).maxConnections();
                int spare = limits.spare(domain, domainMax);
                if (spare <= 0) {
                    continue;
                }
                List<DeliveryItem> items = queue.lease(domain, spare);
                if (!items.isEmpty()) {
                    nextDomain = index + 1;
                }
                for (DeliveryItem item : items) {
                    launch(domain, domainMax, item);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("dispatcher pump failed", e);
        }
    }

    /** Starts one leased delivery; whatever goes wrong, the lease and the slot are given back. */
    private void launch(String domain, int domainMax, DeliveryItem leased) {
        boolean acquired = false;
        try {
            if (!running || !limits.tryAcquire(domain, domainMax)) {
                leased.release();
                return;
            }
            acquired = true;
            inFlight.add(leased);
            deliverer.deliver(leased).whenComplete((v, t) -> {
                inFlight.remove(leased);
                limits.release(domain);
                wake();
            });
        } catch (RuntimeException e) {
            LOG.error("could not start the delivery of {} to {}; releasing it", leased.queueId(), domain, e);
            pausedUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            if (acquired) {
                inFlight.remove(leased);
                limits.release(domain);
            }
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

    /**
     * Stops leasing; waits up to {@code waitMillis} for running deliveries, then releases the leases of those still
     * running (they are tried again later; a delivery that completes afterwards is ignored).
     */
    public void stop(long waitMillis) {
        synchronized (this) {
            running = false;
            queue.removeReadyListener(readyListener);
            if (tick != null) {
                tick.cancel(false);
            }
        }
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
