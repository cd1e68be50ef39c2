package org.hermod.bounce.internal.rules;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.hermod.api.bounce.FailureInput;

/** One condition of a rule. {@link #match} returns what matched (for the trace), or null. */
public interface Condition {

    String match(FailureInput in);

    /** The same, with the input's text already folded once for all the rules' literal filters. */
    default String match(FailureInput in, FoldedText folded) {
        return match(in);
    }

    /** Reply code: exact ({@code 550}), class ({@code 5xx}, {@code 55x}) or range ({@code 550-554}). */
    record Code(String spec, int from, int to) implements Condition {
        static Code parse(String spec) {
            String s = spec.trim().toLowerCase(Locale.ROOT);
            if (s.contains("-")) {
                String[] p = s.split("-", 2);
                return new Code(spec, Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
            }
            if (!s.matches("[2-5][0-9x][0-9x]")) {
                throw new IllegalArgumentException("bad reply code: " + spec);
            }
            return new Code(spec, Integer.parseInt(s.replace('x', '0')), Integer.parseInt(s.replace('x', '9')));
        }

        @Override
        public String match(FailureInput in) {
            return in.code() >= from && in.code() <= to ? "code " + in.code() : null;
        }
    }

    /** Enhanced status: {@code 5.1.1}, {@code X.1.1} (any class), {@code 5.1.*} or {@code X.7.*}. */
    record Status(String spec, Pattern pattern) implements Condition {
        static Status parse(String spec) {
            String s = spec.trim().toUpperCase(Locale.ROOT);
            if (!s.matches("[245X](\\.([0-9]{1,3}|\\*)){1,2}")) {
                throw new IllegalArgumentException("bad status pattern: " + spec);
            }
            String[] p = s.split("\\.");
            StringBuilder re = new StringBuilder(p[0].equals("X") ? "[245]" : p[0]);
            for (int i = 1; i < p.length; i++) {
                re.append("\\.").append(p[i].equals("*") ? "[0-9]{1,3}" : p[i]);
            }
            if (p.length == 2) {
                re.append("\\.[0-9]{1,3}");
            }
            return new Status(spec, Pattern.compile(re.toString()));
        }

        /** True when the pattern names one detail other than 0 ({@code 5.1.1}, {@code X.2.2}; not {@code 5.1.*}). */
        boolean specific() {
            String[] p = spec.trim().split("\\.");
            return p.length == 3 && !p[2].equals("*") && Integer.parseInt(p[2]) != 0;
        }

        @Override
        public String match(FailureInput in) {
            String st = in.enhancedStatus();
            return st != null && pattern.matcher(st).matches() ? "status " + st : null;
        }
    }

    /**
     * Case-insensitive regular expression searched in the reply text. It only runs on a text that contains one of
     * its required literals ({@link Literals}), so most expressions never scan a text they cannot match.
     *
     * @param literals folded literals one of which every match contains, or null when none could be named
     */
    record Text(Pattern pattern, String[] literals) implements Condition {
        static Text parse(String regex) {
            List<String> lits = Literals.required(regex);
            return new Text(Pattern.compile(regex, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE),
                    lits == null ? null : lits.toArray(new String[0]));
        }

        @Override
        public String match(FailureInput in) {
            return match(in, new FoldedText(in.text()));
        }

        @Override
        public String match(FailureInput in, FoldedText folded) {
            if (literals != null && !folded.containsAny(literals)) {
                return null;
            }
            Matcher m = pattern.matcher(new Deadline(in.text(), System.nanoTime() + DEADLINE_NANOS));
            return m.find() ? "text \"" + m.group() + "\"" : null;
        }
    }

    /** How long one regular expression may take on one text before it is abandoned (the rule then fails). */
    long DEADLINE_NANOS = 200_000_000L;

    /** A text that makes a runaway (backtracking) regular expression throw once its deadline has passed. */
    final class Deadline implements CharSequence {
        private final CharSequence text;
        private final long deadline;
        private int reads;

        Deadline(CharSequence text, long deadline) {
            this.text = text;
            this.deadline = deadline;
        }

        @Override
        public char charAt(int index) {
            if ((++reads & 0xFFFF) == 0 && System.nanoTime() > deadline) {
                throw new IllegalStateException("regular expression took too long");
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.subSequence(start, end);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }

    /** Provider: a suffix of the MX host or of the recipient domain (comma-separated list). */
    record Provider(String[] suffixes) implements Condition {
        static Provider parse(String spec) {
            return new Provider(spec.toLowerCase(Locale.ROOT).split(","));
        }

        @Override
        public String match(FailureInput in) {
            for (String s : suffixes) {
                String suf = s.trim();
                if (suf.isEmpty()) {
                    continue;
                }
                if (endsWithDomain(in.mxHost(), suf)) {
                    return "mx " + in.mxHost();
                }
                if (endsWithDomain(in.domain(), suf)) {
                    return "domain " + in.domain();
                }
            }
            return null;
        }

        private static boolean endsWithDomain(String host, String suffix) {
            if (host == null) {
                return false;
            }
            String h = host.toLowerCase(Locale.ROOT);
            if (h.endsWith(".")) {
                h = h.substring(0, h.length() - 1);
            }
            return h.equals(suffix) || h.endsWith(suffix.startsWith(".") ? suffix : "." + suffix);
        }
    }

    /** Failure kind: {@code REPLY}, {@code TIMEOUT}, {@code DNS_FAILURE}, ... */
    record KindIs(FailureInput.Kind kind) implements Condition {
        @Override
        public String match(FailureInput in) {
            return in.kind() == kind ? "kind " + kind : null;
        }
    }

    /** Any of several conditions of the same type (comma lists). */
    record AnyOf(Condition[] options) implements Condition {
        @Override
        public String match(FailureInput in) {
            return match(in, new FoldedText(in.text()));
        }

        @Override
        public String match(FailureInput in, FoldedText folded) {
            for (Condition c : options) {
                String m = c.match(in, folded);
                if (m != null) {
                    return m;
                }
            }
            return null;
        }
    }

    /** Negation: matches when the inner condition does not. */
    record Not(Condition inner) implements Condition {
        @Override
        public String match(FailureInput in) {
            return match(in, new FoldedText(in.text()));
        }

        @Override
        public String match(FailureInput in, FoldedText folded) {
            return inner.match(in, folded) == null ? "" : null;
        }
    }
}
