package org.hermod.smtp.internal;

import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.bounce.BounceProcessor;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.api.bounce.SuppressionList;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session's {@link RecipientPolicy}, backed by whatever bounce services are present at the time of each call
 * (dynamic, greedy references: a newly installed higher-ranked service takes over without a restart):
 * the suppression list refuses suppressed recipients at RCPT, and mail to the VERP bounce domain is handed to the bounce
 * processor instead of being relayed.
 */
@Component(service = PolicyTracker.class)
public final class PolicyTracker implements RecipientPolicy {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyTracker.class);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile SuppressionList suppression;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile BounceProcessor bounces;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ReturnPathCodec returnPaths;

    private final ExecutorService bounceWorkers = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "hermod-smtp-bounce-input");
        t.setDaemon(true);
        return t;
    });

    @Deactivate
    void deactivate() {
        bounceWorkers.shutdown();
    }

    private String bounceDomain() {
        ReturnPathCodec c = returnPaths;
        String d = c == null ? null : c.bounceDomain();
        return d == null || d.isBlank() ? null : d.toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean isLocalDomain(String domain) {
        String d = bounceDomain();
        return d != null && d.equalsIgnoreCase(domain);
    }

    @Override
    public String refusal(MailAddress recipient) {
        SuppressionList s = suppression;
        if (s != null && !isLocalDomain(recipient.domain()) && s.contains(recipient.toString())) {
            return SuppressionList.refusal(recipient).toString(); // the same reply delivery gives
        }
        return null;
    }

    @Override
    public boolean isBounceInput(Envelope envelope) {
        String d = bounceDomain();
        if (d == null) {
            return false;
        }
        for (Recipient r : envelope.recipients()) {
            if (!r.address().domainKey().equals(d)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public CompletionStage<String> acceptBounce(Envelope envelope, byte[] content) {
        BounceProcessor p = bounces;
        if (p == null) {
            return CompletableFuture.completedFuture("451 4.3.0 Bounce processing is not available now, try again later");
        }
        return CompletableFuture.supplyAsync(() -> {
            int n = 0;
            for (Recipient r : envelope.recipients()) {
                BounceReport report = p.process(content, r.address().toString());
                n += report.recipients().size();
                LOG.debug("bounce input to {}: {} ({} recipients)", r.address(), report.kind(), report.recipients().size());
            }
            return "250 2.0.0 Ok: bounce processed (" + n + " recipient report(s))";
        }, bounceWorkers);
    }
}
