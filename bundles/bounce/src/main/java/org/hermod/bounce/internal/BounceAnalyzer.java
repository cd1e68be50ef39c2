package org.hermod.bounce.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;

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

    /** Most recipients taken from one message; the rest are ignored. */
    static final int MAX_RECIPIENTS = 500;
    /** Longest diagnostic kept per recipient. */
    static final int MAX_DIAGNOSTIC = 4096;
    /** Characters of diagnostic text classified per message; past it, recipients are classified on a short prefix. */
    static final int CLASSIFY_BUDGET = 96 * 1024;
    private static final int MIN_CLASSIFIED = 256;

    /**
     * An analysis with the VERP verification that side effects depend on.
     *
     * @param report what the message is
     * @param verified the verified VERP return path (bounces: the envelope recipient; complaints: the envelope
     *        recipient or the attached original message's sender headers), or null when nothing verified
     */
    public record Result(BounceReport report, ReturnPathCodec.Decoded verified) {
    }

    public static BounceReport analyse(byte[] raw, String envelopeRecipient, BounceClassifier classifier,
                                       ReturnPathCodec codec) {
        return analyseVerified(raw, envelopeRecipient, classifier, codec).report();
    }

    /**
     * Parses and classifies. When a VERP return path verifies, every recipient of the report is the decoded
     * recipient (the body only contributes status and diagnostic); otherwise the report names what the body says,
     * which must not be acted upon. Never throws.
     */
    public static Result analyseVerified(byte[] raw, String envelopeRecipient, BounceClassifier classifier,
                                         ReturnPathCodec codec) {
        try {
            ParsedBounce p = BounceParser.parse(raw == null ? new byte[0] : raw);
            ReturnPathCodec.Decoded verp = null;
            if (codec != null) {
                verp = decode(codec, envelopeRecipient);
                if (verp == null && p.kind() == BounceReport.Kind.COMPLAINT) {
                    for (String s : p.originalSenders()) {
                        verp = decode(codec, s);
                        if (verp != null) {
                            break;
                        }
                    }
                }
            }
            String queueId = verp == null ? null : verp.queueId();
            List<BouncedRecipient> out = new ArrayList<>();
            Map<FailureInput, Classification> seen = new HashMap<>();
            int budget = CLASSIFY_BUDGET;
            List<ParsedBounce.Item> items = p.recipients();
            for (ParsedBounce.Item it : items) {
                if (out.size() >= MAX_RECIPIENTS) {
                    break;
                }
                String rcpt = it.recipient();
                String orig = it.originalRecipient();
                if (verp != null) { // the signed recipient wins over whatever the body claims
                    rcpt = verp.recipient();
                    orig = verp.recipient();
                }
                String diag = it.diagnostic() == null || it.diagnostic().length() <= MAX_DIAGNOSTIC
                        ? it.diagnostic() : it.diagnostic().substring(0, MAX_DIAGNOSTIC);
                Classification c;
                if (p.kind() == BounceReport.Kind.COMPLAINT) {
                    c = new Classification(COMPLAINT, true, null, new Classification.Trace("builtin", "arf",
                            "feedback-type " + p.feedbackType(), List.of()));
                } else {
                    String domain = rcpt == null || rcpt.indexOf('@') < 0 ? null
                            : rcpt.substring(rcpt.indexOf('@') + 1).toLowerCase(Locale.ROOT);
                    String text = diag;
                    int allowed = Math.max(MIN_CLASSIFIED, budget);
                    if (text != null && text.length() > allowed) {
                        text = text.substring(0, allowed);
                    }
                    FailureInput in = FailureInput.reply(it.replyCode(), it.status(), text,
                            hostOf(it.remoteMta()), domain);
                    c = seen.get(in);
                    if (c == null) {
                        c = safeClassify(classifier, in);
                        budget -= in.text().length();
                        if (seen.size() < 1000) {
                            seen.put(in, c);
                        }
                    }
                    if ("delayed".equals(it.action()) && c.permanent() && it.status() == null) {
                        c = new Classification(c.category(), false, c.enhancedStatus(), c.trace());
                    }
                }
                out.add(new BouncedRecipient(rcpt, orig, it.action(), c.enhancedStatus() != null
                        ? c.enhancedStatus() : it.status(), it.replyCode(), diag, it.remoteMta(), c));
            }
            return new Result(new BounceReport(p.kind(), queueId, p.feedbackType(), out, p.error()), verp);
        } catch (Throwable e) { // OutOfMemoryError and StackOverflowError included: one hostile message only
            return new Result(new BounceReport(BounceReport.Kind.UNKNOWN, null, null, List.of(), e.toString()), null);
        }
    }

    private static ReturnPathCodec.Decoded decode(ReturnPathCodec codec, String address) {
        if (address == null || address.isBlank()) {
            return null;
        }
        try {
            return codec.decode(address).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    static Classification safeClassify(BounceClassifier classifier, FailureInput in) {
        try {
            return classifier.classify(in);
        } catch (RuntimeException | StackOverflowError e) {
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
