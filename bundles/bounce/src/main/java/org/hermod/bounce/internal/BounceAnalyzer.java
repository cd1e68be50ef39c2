package org.hermod.bounce.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.bounce.internal.parse.BounceParser;
import org.hermod.bounce.internal.parse.ParsedBounce;

/**
 * Parses a raw message and classifies each failed recipient: the side-effect-free core of the bounce processor,
 * also used by the evaluation tool and the shell command. Never throws.
 */
public final class BounceAnalyzer {

    /** The pseudo-category given to ARF complaints. */
    public static final String COMPLAINT = "complaint";

    private BounceAnalyzer() {
    }

    public static BounceReport analyse(byte[] raw, String envelopeRecipient, BounceClassifier classifier,
                                       ReturnPathCodec codec) {
        try {
            ParsedBounce p = BounceParser.parse(raw == null ? new byte[0] : raw);
            Optional<ReturnPathCodec.Decoded> verp = Optional.empty();
            if (codec != null && envelopeRecipient != null) {
                verp = codec.decode(envelopeRecipient);
            }
            String queueId = verp.map(ReturnPathCodec.Decoded::queueId).orElse(null);
            List<BouncedRecipient> out = new ArrayList<>();
            List<ParsedBounce.Item> items = p.recipients();
            for (ParsedBounce.Item it : items) {
                String rcpt = it.recipient();
                String orig = it.originalRecipient();
                if (verp.isPresent()) {
                    if (rcpt == null) {
                        rcpt = verp.get().recipient();
                    }
                    if (orig == null) {
                        orig = verp.get().recipient();
                    }
                }
                Classification c;
                if (p.kind() == BounceReport.Kind.COMPLAINT) {
                    c = new Classification(COMPLAINT, true, null, new Classification.Trace("builtin", "arf",
                            "feedback-type " + p.feedbackType(), List.of()));
                } else {
                    String domain = rcpt == null || rcpt.indexOf('@') < 0 ? null
                            : rcpt.substring(rcpt.indexOf('@') + 1).toLowerCase(Locale.ROOT);
                    FailureInput in = FailureInput.reply(it.replyCode(), it.status(), it.diagnostic(),
                            hostOf(it.remoteMta()), domain);
                    c = safeClassify(classifier, in);
                    if ("delayed".equals(it.action()) && c.permanent() && it.status() == null) {
                        c = new Classification(c.category(), false, c.enhancedStatus(), c.trace());
                    }
                }
                out.add(new BouncedRecipient(rcpt, orig, it.action(), c.enhancedStatus() != null
                        ? c.enhancedStatus() : it.status(), it.replyCode(), it.diagnostic(), it.remoteMta(), c));
            }
            return new BounceReport(p.kind(), queueId, p.feedbackType(), out, p.error());
        } catch (RuntimeException | StackOverflowError e) {
            return new BounceReport(BounceReport.Kind.UNKNOWN, null, null, List.of(), e.toString());
        }
    }

    static Classification safeClassify(BounceClassifier classifier, FailureInput in) {
        try {
            return classifier.classify(in);
        } catch (RuntimeException e) {
            return new Classification("other", true, in.enhancedStatus(),
                    new Classification.Trace("builtin", null, "classifier failed: " + e, List.of()));
        }
    }

    private static String hostOf(String remoteMta) {
        if (remoteMta == null) {
            return null;
        }
        String h = remoteMta.strip();
        int sp = h.indexOf(' ');
        if (sp > 0) {
            h = h.substring(0, sp);
        }
        return h.replaceAll("[\\[\\]()]", "");
    }
}
