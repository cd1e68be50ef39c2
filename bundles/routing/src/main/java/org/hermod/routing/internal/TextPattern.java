package org.hermod.routing.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A value pattern of the rules file: {@code /regex/} (Java syntax, case-insensitive, found anywhere unless anchored)
 * or globs separated by commas ({@code *} any run of characters, {@code ?} one character, case-insensitive, whole
 * value).
 */
final class TextPattern {

    private final String source;
    private final List<Pattern> patterns;

    private TextPattern(String source, List<Pattern> patterns) {
        this.source = source;
        this.patterns = patterns;
    }

    static TextPattern parse(String s) {
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty pattern");
        }
        if (s.length() >= 2 && s.startsWith("/") && s.endsWith("/")) {
            try {
                return new TextPattern(s, List.of(Pattern.compile(s.substring(1, s.length() - 1),
                        Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE)));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("bad regular expression " + s + ": " + e.getDescription());
            }
        }
        List<Pattern> globs = new ArrayList<>();
        for (String g : s.split(",")) {
            if (!g.isBlank()) {
                globs.add(glob(g.strip()));
            }
        }
        return new TextPattern(s, List.copyOf(globs));
    }

    private static Pattern glob(String g) {
        StringBuilder re = new StringBuilder("^");
        for (char c : g.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.append('$').toString(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    }

    boolean matches(String value) {
        if (value == null) {
            return false;
        }
        String v = value.toLowerCase(Locale.ROOT);
        for (Pattern p : patterns) {
            if (p.matcher(v).find()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return source;
    }
}
