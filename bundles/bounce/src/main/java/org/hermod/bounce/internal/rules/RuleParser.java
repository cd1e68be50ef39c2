package org.hermod.bounce.internal.rules;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import org.hermod.api.bounce.FailureInput;

/**
 * Parses the line-oriented rule format documented at the top of {@code default-rules.txt}:
 * <pre>
 * id  condition [condition ...] [level=evidence-level]  =&gt;  category [permanent|temporary]
 * </pre>
 * Bad lines are reported in {@link Result#errors()} and skipped; they never stop the other rules from loading.
 */
public final class RuleParser {

    private RuleParser() {
    }

    public record Result(List<Rule> rules, List<String> errors) {
    }

    public static Result parse(String source, Reader reader) throws IOException {
        List<Rule> rules = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        BufferedReader br = new BufferedReader(reader);
        String line;
        int no = 0;
        while ((line = br.readLine()) != null) {
            no++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            try {
                rules.add(parseLine(source, t));
            } catch (RuntimeException e) {
                errors.add(source + ":" + no + ": " + e.getMessage());
            }
        }
        return new Result(rules, errors);
    }

    static Rule parseLine(String source, String line) {
        int arrow = line.lastIndexOf("=>");
        if (arrow < 0) {
            throw new IllegalArgumentException("missing '=>'");
        }
        String[] outcome = line.substring(arrow + 2).trim().split("\\s+");
        if (outcome.length == 0 || outcome[0].isEmpty()) {
            throw new IllegalArgumentException("missing category after '=>'");
        }
        String category = outcome[0].toLowerCase(Locale.ROOT);
        Boolean permanent = null;
        if (outcome.length > 1) {
            permanent = switch (outcome[1].toLowerCase(Locale.ROOT)) {
                case "permanent", "perm", "hard" -> Boolean.TRUE;
                case "temporary", "temp", "soft", "transient" -> Boolean.FALSE;
                default -> throw new IllegalArgumentException("expected permanent|temporary, got " + outcome[1]);
            };
        }
        String head = line.substring(0, arrow);
        int pos = 0;
        pos = skipWs(head, pos);
        int idEnd = pos;
        while (idEnd < head.length() && !Character.isWhitespace(head.charAt(idEnd))) {
            idEnd++;
        }
        String id = head.substring(pos, idEnd);
        if (id.isEmpty() || id.contains("=")) {
            throw new IllegalArgumentException("a rule must start with its id");
        }
        List<Condition> conds = new ArrayList<>();
        Evidence level = null;
        pos = idEnd;
        while ((pos = skipWs(head, pos)) < head.length()) {
            boolean negate = head.charAt(pos) == '!';
            if (negate) {
                pos++;
            }
            int eq = head.indexOf('=', pos);
            if (eq < 0) {
                throw new IllegalArgumentException("expected key=value at: " + head.substring(pos));
            }
            String key = head.substring(pos, eq).trim().toLowerCase(Locale.ROOT);
            pos = eq + 1;
            String value;
            if (pos < head.length() && head.charAt(pos) == '/') {
                // regex: up to the next '/' that is followed by whitespace or the end
                int end = pos + 1;
                while (true) {
                    end = head.indexOf('/', end);
                    if (end < 0) {
                        throw new IllegalArgumentException("unterminated /regex/");
                    }
                    if (head.charAt(end - 1) != '\\' && (end + 1 >= head.length()
                            || Character.isWhitespace(head.charAt(end + 1)))) {
                        break;
                    }
                    end++;
                }
                value = head.substring(pos + 1, end);
                pos = end + 1;
            } else {
                int end = pos;
                while (end < head.length() && !Character.isWhitespace(head.charAt(end))) {
                    end++;
                }
                value = head.substring(pos, end);
                pos = end;
            }
            if (value.isEmpty()) {
                throw new IllegalArgumentException("empty value for " + key);
            }
            if (key.equals("level")) {
                if (negate) {
                    throw new IllegalArgumentException("level cannot be negated");
                }
                level = Evidence.of(value);
                continue;
            }
            Condition c = switch (key) {
                case "code" -> list(value, Condition.Code::parse);
                case "status" -> list(value, Condition.Status::parse);
                case "text" -> Condition.Text.parse(value);
                case "provider" -> Condition.Provider.parse(value);
                case "kind" -> list(value, v -> new Condition.KindIs(
                        FailureInput.Kind.valueOf(v.trim().toUpperCase(Locale.ROOT))));
                default -> throw new IllegalArgumentException("unknown condition '" + key + "'");
            };
            conds.add(negate ? new Condition.Not(c) : c);
        }
        return new Rule(id, source, conds, category, permanent, level);
    }

    private static Condition list(String value, Function<String, Condition> f) {
        String[] parts = value.split(",");
        if (parts.length == 1) {
            return f.apply(parts[0]);
        }
        Condition[] cs = new Condition[parts.length];
        for (int i = 0; i < parts.length; i++) {
            cs[i] = f.apply(parts[i]);
        }
        return new Condition.AnyOf(cs);
    }

    private static int skipWs(String s, int pos) {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
        return pos;
    }
}
