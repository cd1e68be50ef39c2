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
 * hard bounces and complainers, log one event per recipient. Never throws. Only a verified VERP return path (for
 * complaints also one in the attached original's headers) leads to suppression, and only of the recipient it was
 * made for; anything else is logged with source {@code async-unverified} and changes nothing.
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
    private volatile Set<String> complaintTypes = Set.of("abuse", "fraud", "opt-out");
    /** Longest address acted upon (RFC 5321 path limit). */
    static final int MAX_ADDRESS = 254;

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
        complaintTypes = hardSet(config.complaintFeedbackTypes());
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
        BounceAnalyzer.Result result = BounceAnalyzer.analyseVerified(rawMessage, envelopeRecipient, classifier,
                codec);
        BounceReport report = result.report();
        try {
            boolean complaint = report.kind() == BounceReport.Kind.COMPLAINT;
            if (!report.isBounce() && !complaint) {
                return report;
            }
            ReturnPathCodec.Decoded verp = result.verified();
            if (verp == null) {
                LOG.info("unverified {} to {}: logged, nothing suppressed", complaint ? "complaint" : "bounce",
                        envelopeRecipient);
            }
            String src = "bounce to " + envelopeRecipient + (report.queueId() == null ? "" : " queue "
                    + report.queueId());
            boolean suppressed = false;
            for (BouncedRecipient r : report.recipients()) {
                try {
                    String rcpt = r.recipient() != null ? r.recipient() : r.originalRecipient();
                    if (rcpt != null && rcpt.length() > MAX_ADDRESS) {
                        continue;
                    }
                    String source = verp == null ? "async-unverified" : complaint ? "complaint" : "async";
                    events.write(source, report.queueId(), rcpt, r.classification(), r.replyCode());
                    if (verp == null || suppressed) {
                        continue;
                    }
                    boolean suppress = complaint
                            ? suppressComplaints && report.feedbackType() != null
                                    && complaintTypes.contains(report.feedbackType().toLowerCase(Locale.ROOT))
                            : r.classification().permanent() && hard.contains(r.classification().category());
                    if (suppress && verp.recipient() != null && verp.recipient().length() <= MAX_ADDRESS) {
                        // only ever the address the signed return path was made for
                        suppression.add(verp.recipient(), r.classification().category(), src);
                        suppressed = true;
                    }
                } catch (RuntimeException e) {
                    LOG.warn("bounce processing side effects failed for one recipient: {}", e.toString());
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("bounce processing side effects failed: {}", e.toString());
        }
        return report;
    }
}
