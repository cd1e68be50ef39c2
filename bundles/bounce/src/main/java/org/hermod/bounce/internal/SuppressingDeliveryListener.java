package org.hermod.bounce.internal;

import java.util.List;
import java.util.Set;

import org.hermod.api.bounce.Classification;
import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.delivery.DeliveryListener;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.spool.RecipientResult;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whiteboard listener: every classified synchronous failure goes to the bounce event log (source {@code sync}); a
 * permanent failure in a hard category puts the recipient on the suppression list. Never throws.
 */
@Component(service = DeliveryListener.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class SuppressingDeliveryListener implements DeliveryListener {

    private static final Logger LOG = LoggerFactory.getLogger(SuppressingDeliveryListener.class);

    private final SuppressionList suppression;
    private final BounceEventLog events;
    private volatile Set<String> hard = Set.of("bad-mailbox", "bad-domain", "inactive-mailbox");

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

    @Override
    public void onAttempt(DeliveryEvent e) {
        try {
            if (e == null || e.outcome() == RecipientResult.Status.DELIVERED || e.category() == null) {
                return;
            }
            boolean permanent = e.outcome() == RecipientResult.Status.FAILED
                    || e.reply() != null && e.reply().isPermanent();
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
