package org.hermod.bounce.internal.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.hermod.api.bounce.BounceCategory;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An immutable, ordered snapshot of rules (operator rules first, then the defaults). Safe to share between threads;
 * the classifier swaps whole snapshots on reload.
 */
public final class RuleSet {

    private static final Pattern STATUS_IN_TEXT =
            Pattern.compile("(?<![0-9.])([245])\\.([0-9]{1,3})\\.([0-9]{1,3})(?![0-9]|\\.[0-9])");
    private static final Pattern CODE_IN_TEXT = Pattern.compile("(?<![0-9.\\-])([245][0-9][0-9])(?:[ \\-]|$)");

    private static final Logger LOG = LoggerFactory.getLogger(RuleSet.class);
    /** Longest text that rules' regular expressions see. */
    public static final int MAX_TEXT = 4096;

    private final List<Rule> rules;
    private final List<String> errors;
    /** Rules that threw once (logged once, skipped). */
    private final Set<String> failed = ConcurrentHashMap.newKeySet();

    public RuleSet(List<Rule> rules, List<String> errors) {
        this.rules = List.copyOf(rules);
        this.errors = List.copyOf(errors);
    }

    public List<Rule> rules() {
        return rules;
    }

    public List<String> errors() {
        return errors;
    }

    /**
     * Fills in a missing enhanced status or reply code from the text, so rules can match on them, and cuts the text
     * to {@link #MAX_TEXT} characters.
     */
    public static FailureInput normalise(FailureInput in) {
        String text = in.text().length() > MAX_TEXT ? in.text().substring(0, MAX_TEXT) : in.text();
        String status = in.enhancedStatus();
        if (status != null) {
            status = status.trim();
            if (!STATUS_IN_TEXT.matcher(status).matches()) {
                status = null;
            }
        }
        if (status == null || status.isEmpty()) {
            Matcher m = STATUS_IN_TEXT.matcher(text);
            status = m.find() ? m.group() : null;
        }
        int code = in.code();
        if (code == 0) {
            Matcher m = CODE_IN_TEXT.matcher(text);
            if (m.find()) {
                code = Integer.parseInt(m.group(1));
            }
        }
        if (code == in.code() && java.util.Objects.equals(status, in.enhancedStatus()) && text == in.text()) {
            return in;
        }
        return new FailureInput(in.kind(), code, status, text, in.mxHost(), in.domain());
    }

    /** Never throws: a rule whose matching fails (e.g. a regex overflowing the stack) is skipped. */
    public Classification classify(FailureInput raw) {
        FailureInput in = normalise(raw);
        List<String> considered = new ArrayList<>();
        FoldedText folded = new FoldedText(in.text());
        for (Rule r : rules) {
            String m;
            try {
                m = r.match(in, folded);
            } catch (RuntimeException | StackOverflowError e) {
                if (failed.add(r.source() + ":" + r.id())) {
                    LOG.warn("bounce rule {} ({}) failed and was skipped: {}", r.id(), r.source(), e.toString());
                }
                m = null;
            }
            if (m != null) {
                boolean perm = r.permanent() != null ? r.permanent() : permanence(in);
                return new Classification(r.category(), perm, in.enhancedStatus(),
                        new Classification.Trace(r.source(), r.id(), r.evidence().label() + ": " + m, considered));
            }
            considered.add(r.id());
        }
        return new Classification(BounceCategory.OTHER, permanence(in), in.enhancedStatus(),
                new Classification.Trace("builtin", null, "no rule matched", considered));
    }

    /** Permanence from the enhanced status class, else the reply code, else the failure kind. */
    public static boolean permanence(FailureInput in) {
        String st = in.enhancedStatus();
        if (st != null && !st.isEmpty()) {
            char c = st.charAt(0);
            if (c == '4') {
                return false;
            }
            if (c == '5') {
                return true;
            }
        }
        if (in.code() >= 400 && in.code() < 500) {
            return false;
        }
        if (in.code() >= 500) {
            return true;
        }
        return switch (in.kind()) {
            case EXPIRED, REPLY -> true;
            default -> false;
        };
    }
}
