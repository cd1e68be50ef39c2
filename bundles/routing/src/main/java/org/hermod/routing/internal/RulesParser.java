package org.hermod.routing.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.hermod.api.MailAddress;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.RouteChange;

/**
 * Parses the rule router's file (syntax: the header of {@code etc/hermod-routing.rules}). Strict: the first bad line
 * fails the whole file with its line number, so a bad edit never half-applies.
 */
final class RulesParser {

    private static final Map<String, Stage> STAGES = Map.of("connect", Stage.CONNECT, "mail", Stage.MAIL,
            "rcpt", Stage.RCPT, "data", Stage.DATA);

    /** A line of the file that cannot be used. */
    static final class RulesException extends Exception {
        private static final long serialVersionUID = 1L;
        final int line;

        RulesException(int line, String text, String problem) {
            super("line " + line + ": " + problem + ": " + text);
            this.line = line;
        }
    }

    private record Token(String text, boolean quoted) {
    }

    private RulesParser() {
    }

    static RoutingRules parse(String source, Reader in) throws IOException, RulesException {
        List<RouteRule> rules = new ArrayList<>();
        BufferedReader r = new BufferedReader(in);
        String line;
        int n = 0;
        while ((line = r.readLine()) != null) {
            n++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            try {
                rules.add(rule(n, t));
            } catch (IllegalArgumentException e) {
                throw new RulesException(n, t, e.getMessage());
            }
        }
        return new RoutingRules(source, rules);
    }

    static RouteRule rule(int n, String text) {
        List<Token> tokens = tokens(text);
        int arrow = -1;
        for (int i = 0; i < tokens.size(); i++) {
            if (!tokens.get(i).quoted && tokens.get(i).text.equals("->")) {
                arrow = i;
                break;
            }
        }
        if (arrow < 0) {
            throw new IllegalArgumentException("no '->' between conditions and actions");
        }
        Stage stage = STAGES.get(tokens.get(0).text.toLowerCase(Locale.ROOT));
        if (stage == null || tokens.get(0).quoted) {
            throw new IllegalArgumentException("a rule starts with its stage: connect, mail, rcpt or data");
        }
        if (arrow == 1) {
            throw new IllegalArgumentException("no condition (write 'any' to match everything)");
        }
        if (arrow == tokens.size() - 1) {
            throw new IllegalArgumentException("no action after '->'");
        }
        List<Condition> conditions = new ArrayList<>();
        for (Token c : tokens.subList(1, arrow)) {
            conditions.add(condition(stage, c.text));
        }
        return actions(n, text, stage, conditions, tokens.subList(arrow + 1, tokens.size()));
    }

    private static Condition condition(Stage stage, String c) {
        if (c.startsWith("!")) {
            return Condition.not(condition(stage, c.substring(1)), c.substring(1));
        }
        if (c.equalsIgnoreCase("any")) {
            return Condition.any();
        }
        if (c.toLowerCase(Locale.ROOT).startsWith("size>") || c.toLowerCase(Locale.ROOT).startsWith("size<")) {
            allowed(stage, "size", EnumSet.of(Stage.MAIL, Stage.DATA));
            return Condition.size(c.charAt(4) == '>', bytes(c.substring(5)), c);
        }
        int eq = c.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("not a condition: " + c);
        }
        String key = c.substring(0, eq).toLowerCase(Locale.ROOT);
        String value = c.substring(eq + 1);
        if (value.isEmpty()) {
            throw new IllegalArgumentException("no value in " + c);
        }
        if (key.startsWith("header:")) {
            allowed(stage, "header", EnumSet.of(Stage.DATA));
            String name = c.substring("header:".length(), eq);
            new HeaderField(name, ""); // validates the name
            return Condition.header(name, TextPattern.parse(value));
        }
        return switch (key) {
            case "from" -> {
                allowed(stage, key, EnumSet.of(Stage.MAIL, Stage.RCPT, Stage.DATA));
                yield Condition.sender(key, TextPattern.parse(value), MailAddress::toString);
            }
            case "from-domain" -> {
                allowed(stage, key, EnumSet.of(Stage.MAIL, Stage.RCPT, Stage.DATA));
                yield Condition.sender(key, TextPattern.parse(value), MailAddress::domain);
            }
            case "to" -> {
                allowed(stage, key, EnumSet.of(Stage.RCPT, Stage.DATA));
                yield Condition.recipient(key, TextPattern.parse(value), MailAddress::toString);
            }
            case "to-domain" -> {
                allowed(stage, key, EnumSet.of(Stage.RCPT, Stage.DATA));
                yield Condition.recipient(key, TextPattern.parse(value), MailAddress::domain);
            }
            case "client" -> {
                List<Cidr> nets = new ArrayList<>();
                for (String s : value.split(",")) {
                    nets.add(Cidr.parse(s.strip()));
                }
                yield Condition.client(nets);
            }
            case "user" -> {
                allowed(stage, key, EnumSet.of(Stage.MAIL, Stage.RCPT, Stage.DATA));
                yield Condition.user(value, value.equals("-") ? null : TextPattern.parse(value));
            }
            default -> throw new IllegalArgumentException("unknown condition " + key
                    + " (from, from-domain, to, to-domain, client, user, header:NAME, size>N, size<N, any)");
        };
    }

    private static void allowed(Stage stage, String what, Set<Stage> where) {
        if (!where.contains(stage)) {
            throw new IllegalArgumentException(what + " is not known at the " + stage.name().toLowerCase(Locale.ROOT)
                    + " stage");
        }
    }

    private static long bytes(String s) {
        String t = s.strip().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("k")) {
            unit = 1024;
        } else if (t.endsWith("m")) {
            unit = 1024 * 1024;
        } else if (t.endsWith("g")) {
            unit = 1024L * 1024 * 1024;
        }
        try {
            return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: " + s + " (bytes, or with k, m, g)");
        }
    }

    private static RouteRule actions(int n, String text, Stage stage, List<Condition> conditions, List<Token> ts) {
        RouteChange change = RouteChange.NONE;
        List<HeaderField> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        FilterDecision end = null;
        boolean goOn = false;
        for (int i = 0; i < ts.size(); i++) {
            Token t = ts.get(i);
            String word = t.text.toLowerCase(Locale.ROOT);
            int eq = t.text.indexOf('=');
            if (t.quoted) {
                throw new IllegalArgumentException("unexpected text \"" + t.text + "\"");
            }
            if (eq > 0) {
                String key = word.substring(0, eq);
                String value = t.text.substring(eq + 1);
                change = switch (key) {
                    case "pool" -> change.withPool(value);
                    case "smarthost" -> change.withSmarthost(value);
                    case "tenant" -> change.withTenant(value);
                    case "campaign" -> change.withCampaign(value);
                    case "priority" -> change.withPriority(integer(value));
                    default -> {
                        if (key.startsWith("tag:") && key.length() > 4) {
                            yield change.withTag(t.text.substring(4, eq), value);
                        }
                        throw new IllegalArgumentException("unknown action " + key
                                + " (pool, smarthost, tenant, campaign, priority, tag:NAME)");
                    }
                };
                continue;
            }
            switch (word) {
                case "continue" -> goOn = true;
                case "add-header" -> {
                    allowed(stage, word, EnumSet.of(Stage.DATA));
                    if (i + 2 >= ts.size()) {
                        throw new IllegalArgumentException("add-header NAME \"value\"");
                    }
                    added.add(new HeaderField(ts.get(i + 1).text, ts.get(i + 2).text));
                    i += 2;
                }
                case "remove-header" -> {
                    allowed(stage, word, EnumSet.of(Stage.DATA));
                    if (i + 1 >= ts.size()) {
                        throw new IllegalArgumentException("remove-header NAME");
                    }
                    removed.add(new HeaderField(ts.get(++i).text, "").name());
                }
                case "reject", "defer" -> {
                    end = once(end, word);
                    boolean reject = word.equals("reject");
                    int code = reject ? 550 : 451;
                    String status = reject ? "5.7.1" : "4.7.1";
                    String reply = reject ? "Rejected by routing policy" : "Deferred by routing policy, try later";
                    if (i + 1 < ts.size() && !ts.get(i + 1).quoted && ts.get(i + 1).text.matches("[245]\\d\\d")) {
                        code = Integer.parseInt(ts.get(++i).text);
                    }
                    if (i + 1 < ts.size() && !ts.get(i + 1).quoted
                            && ts.get(i + 1).text.matches("[245]\\.\\d{1,3}\\.\\d{1,3}")) {
                        status = ts.get(++i).text;
                    }
                    if (i + 1 < ts.size() && ts.get(i + 1).quoted) {
                        reply = ts.get(++i).text;
                    }
                    int klass = reject ? 5 : 4;
                    if (code / 100 != klass || status.charAt(0) - '0' != klass) {
                        throw new IllegalArgumentException(word + " needs a " + klass + "xx code and a " + klass
                                + ".x.x status");
                    }
                    end = reject ? FilterDecision.reject(code, status, reply)
                            : FilterDecision.defer(code, status, reply);
                }
                case "hold" -> {
                    allowed(stage, word, EnumSet.of(Stage.DATA));
                    end = once(end, word);
                    String reason = "held by routing rule at line " + n;
                    if (i + 1 < ts.size() && ts.get(i + 1).quoted) {
                        reason = ts.get(++i).text;
                    }
                    end = FilterDecision.hold(reason);
                }
                case "discard" -> {
                    allowed(stage, word, EnumSet.of(Stage.DATA));
                    end = once(end, word);
                    end = FilterDecision.discard();
                }
                case "accept" -> {
                    end = once(end, word);
                    end = FilterDecision.accept();
                }
                default -> throw new IllegalArgumentException("unknown action " + t.text);
            }
        }
        if (goOn && end != null) {
            throw new IllegalArgumentException("continue cannot go with a final action (" + end.action() + ")");
        }
        return new RouteRule(n, text, stage, List.copyOf(conditions), change, List.copyOf(added),
                List.copyOf(removed), end, goOn);
    }

    private static FilterDecision once(FilterDecision end, String word) {
        if (end != null) {
            throw new IllegalArgumentException(word + ": a rule has one final action at most");
        }
        return null;
    }

    private static int integer(String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: " + v);
        }
    }

    /** Splits at white space outside double quotes; {@code \"} and {@code \\} escape inside quotes. */
    private static List<Token> tokens(String line) {
        List<Token> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inQuotes = false;
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (inQuotes) {
                if (c == '\\' && i + 1 < line.length()) {
                    cur.append(line.charAt(++i));
                } else if (c == '"') {
                    inQuotes = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                inQuotes = true;
                quoted = cur.length() == 0;
                any = true;
            } else if (Character.isWhitespace(c)) {
                if (any || cur.length() > 0) {
                    out.add(new Token(cur.toString(), quoted));
                }
                cur.setLength(0);
                quoted = false;
                any = false;
            } else {
                cur.append(c);
                any = true;
            }
        }
        if (inQuotes) {
            throw new IllegalArgumentException("unclosed quote");
        }
        if (any || cur.length() > 0) {
            out.add(new Token(cur.toString(), quoted));
        }
        return out;
    }
}
