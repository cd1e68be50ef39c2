package org.hermod.bounce.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.hermod.api.bounce.Classification;
import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.delivery.DeliveryListener;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.spool.RecipientResult;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whiteboard listener: every classified synchronous failure goes to the bounce event log (source {@code sync}); a
 * permanent failure (outcome FAILED, as the delivery's classifier decided) in a hard category puts the recipient on
 * the suppression list. The log write and the database insert run on one background thread (bounded queue; events
 * are dropped with a warning when it is full), never on the delivery thread. Never throws.
 */
@Component(service = DeliveryListener.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class SuppressingDeliveryListener implements DeliveryListener {

    private static final Logger LOG = LoggerFactory.getLogger(SuppressingDeliveryListener.class);

    private final SuppressionList suppression;
    private final BounceEventLog events;
    private volatile Set<String> hard = Set.of("bad-mailbox", "bad-domain", "inactive-mailbox");
    static final int QUEUE = 10_000;
    private final AtomicLong dropped = new AtomicLong();
    private final ThreadPoolExecutor worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUE), r -> {
                Thread t = new Thread(r, "hermod-bounce-suppression");
                t.setDaemon(true);
                return t;
            }, (r, ex) -> {
                if (dropped.getAndIncrement() % 1000 == 0) {
                    LOG.warn("suppression listener queue full: delivery events dropped ({} so far)", dropped.get());
                }
            });

    @Activate
    public SuppressingDeliveryListener(@Reference SuppressionList suppression, @Reference BounceEventLog events,
                                       BounceConfig config) {
        this.suppression = suppression;
        this.events = events;
        if (config != null) {
            modified(config);
        }
    }

    @Modified
    void modified(BounceConfig config) {
        hard = DefaultBounceProcessor.hardSet(config.hardCategories());
    }

    @Deactivate
    void deactivate() {
        worker.shutdown();
        try {
            if (!worker.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("suppression listener: {} events not written at shutdown", worker.getQueue().size());
                worker.shutdownNow();
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void onAttempt(DeliveryEvent e) {
        try {
            if (e == null || e.outcome() == RecipientResult.Status.DELIVERED || e.category() == null) {
                return;
            }
            worker.execute(() -> record(e));
        } catch (RuntimeException ex) {
            LOG.warn("suppression listener: {}", ex.toString());
        }
    }

    /** Waits until the queued events are written (tests). */
    boolean drain(long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (worker.getQueue().isEmpty() && worker.getActiveCount() == 0) {
                return true;
            }
            Thread.sleep(5);
        }
        return false;
    }

    private void record(DeliveryEvent e) {
        try {
            // the delivery's classifier already decided: FAILED is permanent, DEFERRED temporary
            boolean permanent = e.outcome() == RecipientResult.Status.FAILED;
            Classification c = new Classification(e.category(), permanent,
                    e.reply() == null ? null : e.reply().enhancedStatus(),
                    new Classification.Trace("delivery", e.ruleId(), "delivery event", List.of()));
            events.write("sync", e.queueId(), e.recipient(), c, e.reply() == null ? 0 : e.reply().code());
            if (permanent && hard.contains(e.category())) {
                suppression.add(e.recipient(), e.category(), "queue " + e.queueId());
            }
        } catch (RuntimeException ex) {
            LOG.warn("suppression listener: {}", ex.toString());
        }
    }
}
