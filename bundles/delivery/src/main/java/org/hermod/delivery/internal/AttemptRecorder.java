package org.hermod.delivery.internal;

import java.time.Instant;
import java.util.concurrent.CopyOnWriteArrayList;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.delivery.DeliveryListener;
import org.hermod.api.spool.RecipientResult;
import org.hermod.delivery.internal.smtp.RecipientOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every attempt: classifies non-2xx outcomes with the current {@link BounceClassifier} (if any), writes the
 * accounting log and tells every whiteboard {@link DeliveryListener}. Thread-safe; the listener list is a copy-on-write
 * snapshot and the classifier a volatile field, so the hot path takes no lock.
 */
public final class AttemptRecorder {

    private static final Logger LOG = LoggerFactory.getLogger(AttemptRecorder.class);

    private final CopyOnWriteArrayList<DeliveryListener> listeners = new CopyOnWriteArrayList<>();
    private volatile BounceClassifier classifier;
    private volatile AccountingLog log;

    public void classifier(BounceClassifier c) {
        this.classifier = c;
    }

    public BounceClassifier classifier() {
        return classifier;
    }

    public void accountingLog(AccountingLog l) {
        this.log = l;
    }

    public void addListener(DeliveryListener l) {
        listeners.addIfAbsent(l);
    }

    public void removeListener(DeliveryListener l) {
        listeners.remove(l);
    }

    public DeliveryEvent record(String queueId, String sender, String domain, RecipientOutcome o, int attempt,
                                FailureInput.Kind kindOverride) {
        RecipientResult r = o.result();
        String category = null;
        String ruleId = null;
        BounceClassifier c = classifier;
        if (c != null && r.status() != RecipientResult.Status.DELIVERED) {
            FailureInput.Kind kind = kindOverride != null ? kindOverride : o.kind();
            boolean hasReply = r.reply() != null && kind == FailureInput.Kind.REPLY;
            FailureInput in = new FailureInput(kind, hasReply ? r.reply().code() : 0,
                    r.reply() == null ? null : r.reply().enhancedStatus(), r.reply() == null ? null : r.reply().text(),
                    o.mxHost(), domain);
            try {
                Classification cl = c.classify(in);
                if (cl != null) {
                    category = cl.category();
                    ruleId = cl.trace().ruleId();
                }
            } catch (RuntimeException | StackOverflowError e) {
                // a classifier (possibly an operator's bundle) must never take a delivery thread down
                LOG.warn("bounce classifier failed on {}", in, e);
            }
        }
        DeliveryEvent e = new DeliveryEvent(Instant.now(), queueId, sender, r.recipient().address().toString(), domain,
                o.mxHost(), o.mxAddress(), r.reply(), r.status(), attempt, category, ruleId, o.tls());
        AccountingLog l = log;
        if (l != null) {
            l.append(e);
        }
        for (DeliveryListener dl : listeners) {
            try {
                dl.onAttempt(e);
            } catch (RuntimeException | StackOverflowError | LinkageError ex) {
                // whiteboard listeners come from other bundles, possibly being updated right now
                LOG.warn("delivery listener {} failed", dl, ex);
            }
        }
        return e;
    }
}
