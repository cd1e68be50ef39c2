package org.hermod.bounce.internal;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceProcessor;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.api.bounce.SuppressionList;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Handles messages arriving at the bounce domain: parse, classify (with the highest-ranked classifier), suppress
 * hard bounces and complainers, log one event per recipient. Never throws.
 */
@Component(service = BounceProcessor.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class DefaultBounceProcessor implements BounceProcessor {

    private static final Logger LOG = LoggerFactory.getLogger(DefaultBounceProcessor.class);

    private final BounceClassifier classifier;
    private final SuppressionList suppression;
    private final ReturnPathCodec codec;
    private final BounceEventLog events;
    private volatile Set<String> hard = Set.of("bad-mailbox", "bad-domain", "inactive-mailbox");
    private volatile boolean suppressComplaints = true;

    @Activate
    public DefaultBounceProcessor(@Reference(policyOption = ReferencePolicyOption.GREEDY) BounceClassifier classifier,
                                  @Reference SuppressionList suppression, @Reference ReturnPathCodec codec,
                                  @Reference BounceEventLog events, BounceConfig config) {
        this.classifier = classifier;
        this.suppression = suppression;
        this.codec = codec;
        this.events = events;
        if (config != null) {
            modified(config);
        }
    }

    @Modified
    void modified(BounceConfig config) {
        hard = hardSet(config.hardCategories());
        suppressComplaints = config.suppressComplaints();
    }

    static Set<String> hardSet(String[] categories) {
        // etc/*.cfg gives "a,b,c" as one string; Config Admin arrays give one value per element: accept both
        return Arrays.stream(categories).flatMap(s -> Arrays.stream(s.split("[,\\s]+")))
                .map(s -> s.strip().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }

    @Override
    public BounceReport analyse(byte[] rawMessage, String envelopeRecipient) {
        return BounceAnalyzer.analyse(rawMessage, envelopeRecipient, classifier, codec);
    }

    @Override
    public BounceReport process(byte[] rawMessage, String envelopeRecipient) {
        BounceReport report = analyse(rawMessage, envelopeRecipient);
        try {
            boolean complaint = report.kind() == BounceReport.Kind.COMPLAINT;
            if (!report.isBounce() && !complaint) {
                return report;
            }
            String src = "bounce to " + envelopeRecipient + (report.queueId() == null ? "" : " queue "
                    + report.queueId());
            for (BouncedRecipient r : report.recipients()) {
                String rcpt = r.recipient() != null ? r.recipient() : r.originalRecipient();
                events.write(complaint ? "complaint" : "async", report.queueId(), rcpt, r.classification(),
                        r.replyCode());
                if (rcpt == null) {
                    continue;
                }
                boolean suppress = complaint ? suppressComplaints
                        : r.classification().permanent() && hard.contains(r.classification().category());
                if (suppress) {
                    suppression.add(rcpt, r.classification().category(), src);
                    if (r.originalRecipient() != null && !r.originalRecipient().equalsIgnoreCase(rcpt)) {
                        suppression.add(r.originalRecipient(), r.classification().category(), src);
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("bounce processing side effects failed: {}", e.toString());
        }
        return report;
    }
}
