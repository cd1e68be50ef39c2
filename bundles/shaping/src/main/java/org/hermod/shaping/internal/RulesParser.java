package org.hermod.shaping.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.hermod.api.shaping.Feedback;

/**
 * Parses the line-based rules file ({@code etc/hermod-shaping.rules}; the format is documented in that file's header).
 * A line that does not parse is reported in {@link Rules#errors()} and skipped; the rest still apply.
 */
public final class RulesParser {

    private static final Map<String, String> LIMIT_KEYS = Map.of("connections", "maxConnections",
            "messagesPerConnection", "maxMessagesPerConnection", "rate", "messagesPerSecond",
            "connectionRate", "connectionsPerSecond", "recipients", "maxRecipientsPerTransaction");

    private final String file;
    private final List<ProviderRule> providers = new ArrayList<>();
    private final List<LimitRule> limits = new ArrayList<>();
    private final List<ResponseRule> responses = new ArrayList<>();
    private final List<RecoveryRule> recoveries = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private final Map<String, List<Long>> curves = new LinkedHashMap<>();
    private final List<PendingWarmup> warmups = new ArrayList<>();
    private String version;

    /** A warmup line whose curve may be defined further down the file. */
    private record PendingWarmup(int line, String source, String provider, String curve, List<Long> inline,
                                 double hourly) {
    }

    private RulesParser(String file) {
        this.file = file;
    }

    /** @param file the name shown in origins (the file name, without folders) */
    public static Rules parse(String file, Reader in) throws IOException {
        RulesParser p = new RulesParser(file);
        StringBuilder all = new StringBuilder();
        BufferedReader r = new BufferedReader(in);
        String line;
        int n = 0;
        while ((line = r.readLine()) != null) {
            n++;
            all.append(line).append('\n');
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            try {
                p.line(n, t);
            } catch (RuntimeException e) {
                p.errors.add(file + ":" + n + ": " + e.getMessage());
            }
        }
        String v = p.version != null ? p.version : hash(all.toString());
        List<WarmupPlan> plans = p.warmupPlans();
        return new Rules(file, v, p.providers, p.limits, p.responses, p.recoveries, plans, p.errors);
    }

    public static Rules parse(String file, String text) {
        try {
            return parse(file, new java.io.StringReader(text));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void line(int n, String text) {
        List<String> tokens = tokenize(text);
        String directive = tokens.get(0).toLowerCase(Locale.ROOT);
        List<String> args = tokens.subList(1, tokens.size());
        switch (directive) {
            case "version" -> version = String.join(" ", args);
            case "provider" -> provider(n, args);
            case "limits" -> limits(n, LimitRule.Kind.PATH, args);
            case "site-limits" -> limits(n, LimitRule.Kind.SITE_TOTAL, args);
            case "source-limits" -> limits(n, LimitRule.Kind.SOURCE_TOTAL, args);
            case "recovery" -> recovery(n, args);
            case "on" -> response(n, text, args);
            case "curve-define" -> curveDefine(args);
            case "warmup" -> warmup(n, args);
            default -> throw new IllegalArgumentException("unknown directive '" + tokens.get(0) + "'");
        }
    }

    private void provider(int n, List<String> args) {
        if (args.isEmpty() || args.get(0).contains("=")) {
            throw new IllegalArgumentException("provider needs a name");
        }
        String name = args.get(0).toLowerCase(Locale.ROOT);
        List<String> mx = new ArrayList<>();
        List<String> domains = new ArrayList<>();
        for (Map.Entry<String, String> kv : pairs(args.subList(1, args.size())).entrySet()) {
            switch (kv.getKey()) {
                case "mx" -> mx.addAll(list(kv.getValue()));
                case "domains", "domain" -> domains.addAll(list(kv.getValue()));
                default -> throw new IllegalArgumentException("unknown provider key '" + kv.getKey() + "'");
            }
        }
        if (mx.isEmpty() && domains.isEmpty()) {
            throw new IllegalArgumentException("provider " + name + " needs mx= or domains=");
        }
        providers.add(new ProviderRule(name, mx, domains, new Origin(file, n, "provider " + name)));
    }

    private void limits(int n, LimitRule.Kind kind, List<String> args) {
        Map<String, String> kv = pairs(args);
        Scope scope = scope(kv);
        if (kind == LimitRule.Kind.SOURCE_TOTAL && (scope.source() == null || scope.rank() != 4)) {
            throw new IllegalArgumentException("source-limits takes source= only");
        }
        if (kind == LimitRule.Kind.SITE_TOTAL && scope.source() != null) {
            throw new IllegalArgumentException("site-limits applies across sources: no source=");
        }
        Map<String, Number> values = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : kv.entrySet()) {
            String field = LIMIT_KEYS.get(e.getKey());
            if (field == null) {
                throw new IllegalArgumentException("unknown limit '" + e.getKey() + "' (connections,"
                        + " messagesPerConnection, rate, connectionRate, recipients)");
            }
            if (kind != LimitRule.Kind.PATH && !field.endsWith("PerSecond") && !field.equals("maxConnections")) {
                throw new IllegalArgumentException(e.getKey() + " is per path only; totals take rate=, connectionRate="
                        + " and connections=");
            }
            if (field.endsWith("PerSecond")) {
                values.put(field, rate(e.getValue()));
            } else {
                values.put(field, integer(e.getValue(), field.equals("maxConnections") ? 0 : 1));
            }
        }
        if (values.isEmpty()) {
            throw new IllegalArgumentException("limits line sets nothing");
        }
        limits.add(new LimitRule(kind, scope, values, new Origin(file, n, scope.toString())));
    }

    private void curveDefine(List<String> args) {
        if (args.size() != 2 || args.get(0).contains("=")) {
            throw new IllegalArgumentException("curve-define takes a name and comma-separated daily caps:"
                    + " curve-define conservative 50,100,200");
        }
        String name = args.get(0).toLowerCase(Locale.ROOT);
        if (name.equals("inline")) {
            throw new IllegalArgumentException("'inline' is not a curve name");
        }
        curves.put(name, caps(args.get(1)));
    }

    private void warmup(int n, List<String> args) {
        Map<String, String> kv = pairs(args);
        String source = kv.remove("source");
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("warmup needs source=");
        }
        String provider = kv.remove("provider");
        String curve = kv.containsKey("curve") ? kv.remove("curve").strip() : "conservative";
        double hourly = kv.containsKey("hourly") ? fraction(kv.remove("hourly")) : 0;
        if (!kv.isEmpty()) {
            throw new IllegalArgumentException("unknown warmup keys " + kv.keySet() + " (source, provider, curve, hourly)");
        }
        List<Long> inline = Character.isDigit(curve.charAt(0)) ? caps(curve) : null;
        warmups.add(new PendingWarmup(n, source.strip(),
                provider == null || provider.isBlank() ? null : provider.strip().toLowerCase(Locale.ROOT),
                inline == null ? curve.toLowerCase(Locale.ROOT) : "inline", inline, hourly));
    }

    /** Resolves curve names once the whole file is read (a curve may be defined after its use). */
    private List<WarmupPlan> warmupPlans() {
        List<WarmupPlan> out = new ArrayList<>();
        for (PendingWarmup w : warmups) {
            List<Long> caps = w.inline() != null ? w.inline() : curves.get(w.curve());
            if (caps == null && w.curve().equals("conservative")) {
                caps = WarmupPlan.CONSERVATIVE;
            }
            if (caps == null) {
                errors.add(file + ":" + w.line() + ": unknown curve '" + w.curve() + "' (curve-define it, or use"
                        + " conservative)");
                continue;
            }
            String what = "warmup source=" + w.source() + (w.provider() == null ? "" : " provider=" + w.provider());
            out.add(new WarmupPlan(w.source(), w.provider(), w.curve(), caps, w.hourly(), new Origin(file, w.line(), what)));
        }
        return out;
    }

    /** {@code 50,100,500}: positive daily caps, in order. */
    private static List<Long> caps(String v) {
        List<Long> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                long c = Long.parseLong(s.strip().replace("_", ""));
                if (c < 1) {
                    throw new IllegalArgumentException("a daily cap is at least 1, got " + c);
                }
                out.add(c);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("a curve needs at least one daily cap");
        }
        return out;
    }

    private void recovery(int n, List<String> args) {
        Map<String, String> kv = pairs(args);
        Scope scope = scope(kv);
        RecoveryRule d = RecoveryRule.DEFAULT;
        double step = kv.containsKey("step") ? fraction(kv.remove("step")) : d.step();
        int deliveries = kv.containsKey("deliveries") ? integer(kv.remove("deliveries"), 1) : d.deliveries();
        Duration quiet = kv.containsKey("quiet") ? duration(kv.remove("quiet")) : d.quiet();
        double floor = kv.containsKey("floor") ? rate(kv.remove("floor")) : d.floorPerSecond();
        double min = kv.containsKey("min") ? fraction(kv.remove("min")) : d.minFactor();
        if (!kv.isEmpty()) {
            throw new IllegalArgumentException("unknown recovery keys " + kv.keySet());
        }
        if (step <= 0 || step > 1 || min <= 0 || min > 1) {
            throw new IllegalArgumentException("step and min must be in (0, 100%]");
        }
        recoveries.add(new RecoveryRule(scope, step, deliveries, quiet, floor, min,
                new Origin(file, n, "recovery " + scope)));
    }

    private void response(int n, String text, List<String> args) {
        int arrow = args.indexOf("->");
        if (arrow < 0) {
            throw new IllegalArgumentException("response rule needs '-> action'");
        }
        Map<String, String> kv = pairs(args.subList(0, arrow));
        Scope scope = scope(kv);
        Feedback.Result result = null;
        String reply = kv.remove("reply");
        String status = kv.remove("status");
        String category = kv.remove("category");
        Pattern regex = null;
        if (kv.containsKey("result")) {
            result = switch (kv.remove("result").toLowerCase(Locale.ROOT)) {
                case "delivered" -> Feedback.Result.DELIVERED;
                case "deferred" -> Feedback.Result.DEFERRED;
                case "failed" -> Feedback.Result.FAILED;
                case "connection", "connection_failed" -> Feedback.Result.CONNECTION_FAILED;
                default -> throw new IllegalArgumentException("result is delivered, deferred, failed or connection");
            };
        }
        if (kv.containsKey("text")) {
            regex = regex(kv.remove("text"));
        }
        int count = kv.containsKey("count") ? integer(kv.remove("count"), 1) : 1;
        Duration within = kv.containsKey("within") ? duration(kv.remove("within")) : Duration.ZERO;
        if (!kv.isEmpty()) {
            throw new IllegalArgumentException("unknown condition(s) " + kv.keySet());
        }
        if (reply != null && !reply.matches("[0-9xX*]{3}")) {
            throw new IllegalArgumentException("reply is a code or a pattern like 4xx");
        }
        if (count > 1 && within.isZero()) {
            throw new IllegalArgumentException("count=" + count + " needs within=");
        }
        double decrease = 0;
        Duration suspend = null;
        String moveTo = null;
        Duration moveFor = null;
        Duration bounceFor = null;
        List<String> action = args.subList(arrow + 1, args.size());
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < action.size(); i++) {
            String a = action.get(i).toLowerCase(Locale.ROOT);
            if (!seen.add(a) && ACTIONS.contains(a)) {
                throw new IllegalArgumentException("action '" + a + "' given twice");
            }
            switch (a) {
                case "decrease" -> decrease = fraction(value(action, ++i, a));
                case "suspend" -> suspend = duration(value(action, ++i, a));
                case "move" -> {
                    String pool = value(action, ++i, "move");
                    if (ACTIONS.contains(pool.toLowerCase(Locale.ROOT)) || pool.equalsIgnoreCase("for")
                            || !pool.matches("[A-Za-z0-9_.-]+")) {
                        throw new IllegalArgumentException("move needs a pool name, got '" + pool + "'");
                    }
                    moveTo = pool;
                    moveFor = ResponseRule.DEFAULT_FOR;
                    if (i + 1 < action.size() && action.get(i + 1).equalsIgnoreCase("for")) {
                        i++;
                        moveFor = positive(duration(value(action, ++i, "move ... for")), "move ... for");
                    }
                }
                case "bounce" -> {
                    bounceFor = ResponseRule.DEFAULT_FOR;
                    if (i + 1 < action.size() && action.get(i + 1).equalsIgnoreCase("for")) {
                        i++;
                        bounceFor = positive(duration(value(action, ++i, "bounce for")), "bounce for");
                    }
                }
                default -> throw new IllegalArgumentException("unknown action '" + a
                        + "' (decrease F, suspend D, move POOL [for D], bounce [for D])");
            }
        }
        if (decrease == 0 && suspend == null && moveTo == null && bounceFor == null) {
            throw new IllegalArgumentException("response rule needs an action");
        }
        if (moveTo != null && bounceFor != null) {
            throw new IllegalArgumentException("move and bounce exclude each other: the mail goes elsewhere or back");
        }
        if (decrease < 0 || decrease >= 1) {
            throw new IllegalArgumentException("decrease takes a factor below 1, e.g. 0.5");
        }
        responses.add(new ResponseRule(scope, result, reply, status, regex, category, count, within, decrease,
                suspend, moveTo, moveFor, bounceFor, new Origin(file, n, "on " + scope), text));
    }

    private static final java.util.Set<String> ACTIONS = java.util.Set.of("decrease", "suspend", "move", "bounce");

    private static String value(List<String> action, int i, String what) {
        if (i >= action.size()) {
            throw new IllegalArgumentException("action '" + what + "' needs a value");
        }
        return action.get(i);
    }

    private static Duration positive(Duration d, String what) {
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(what + " takes a duration above 0");
        }
        return d;
    }

    private static Scope scope(Map<String, String> kv) {
        return new Scope(kv.remove("provider"), kv.remove("site"), kv.remove("domain"), kv.remove("source"));
    }

    /** key=value tokens in order; a token without '=' is an error. */
    private static Map<String, String> pairs(List<String> tokens) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String t : tokens) {
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got '" + t + "'");
            }
            out.put(t.substring(0, eq).strip(), t.substring(eq + 1).strip());
        }
        return out;
    }

    private static List<String> list(String v) {
        List<String> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                out.add(ProviderRule.trimDot(s.strip().toLowerCase(Locale.ROOT)));
            }
        }
        return out;
    }

    /** Splits on blanks, keeping {@code /regex with blanks/} and {@code "quoted values"} together. */
    static List<String> tokenize(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int i = 0;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (Character.isWhitespace(c)) {
                if (cur.length() > 0) {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
                i++;
            } else if ((c == '/' && cur.length() > 0 && cur.charAt(cur.length() - 1) == '=') || c == '"') {
                char close = c;
                cur.append(c);
                i++;
                while (i < line.length()) {
                    char d = line.charAt(i);
                    cur.append(d);
                    i++;
                    if (d == '\\' && i < line.length()) {
                        cur.append(line.charAt(i));
                        i++;
                    } else if (d == close) {
                        break;
                    }
                }
            } else {
                cur.append(c);
                i++;
            }
        }
        if (cur.length() > 0) {
            out.add(cur.toString());
        }
        return out;
    }

    private static Pattern regex(String v) {
        String body = v;
        if (v.length() >= 2 && (v.startsWith("/") && v.endsWith("/") || v.startsWith("\"") && v.endsWith("\""))) {
            body = v.substring(1, v.length() - 1);
        }
        if (v.startsWith("\"")) {
            body = Pattern.quote(body.replace("\\\"", "\""));
        }
        try {
            return Pattern.compile(body, Pattern.CASE_INSENSITIVE);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("bad regex " + v + ": " + e.getDescription());
        }
    }

    static int integer(String v, int min) {
        int i = Integer.parseInt(v.strip());
        if (i < min) {
            throw new IllegalArgumentException(v + " is below " + min);
        }
        return i;
    }

    /** {@code 0.5}, {@code 50%}. */
    static double fraction(String v) {
        String s = v.strip();
        double d = s.endsWith("%") ? Double.parseDouble(s.substring(0, s.length() - 1)) / 100
                : Double.parseDouble(s);
        if (d < 0 || d > 1) {
            throw new IllegalArgumentException(v + " is not a fraction (0..1 or 0..100%)");
        }
        return d;
    }

    /** {@code 10/s}, {@code 600/m}, {@code 1000/h}, {@code 100000/d}, {@code 0} or {@code unlimited}: per second. */
    static double rate(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (s.equals("unlimited") || s.equals("0")) {
            return 0;
        }
        int slash = s.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("rate '" + v + "' needs a unit: N/s, N/m, N/h or N/d");
        }
        double n = Double.parseDouble(s.substring(0, slash));
        double per = switch (s.substring(slash + 1)) {
            case "s", "sec", "second" -> 1;
            case "m", "min", "minute" -> 60;
            case "h", "hr", "hour" -> 3600;
            case "d", "day" -> 86400;
            default -> throw new IllegalArgumentException("rate unit of '" + v + "' is s, m, h or d");
        };
        if (n < 0) {
            throw new IllegalArgumentException("negative rate " + v);
        }
        return n / per;
    }

    /** {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}. */
    static Duration duration(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (s.length() < 2) {
            throw new IllegalArgumentException("duration '" + v + "' needs a unit: s, m, h or d");
        }
        long n = Long.parseLong(s.substring(0, s.length() - 1));
        return switch (s.charAt(s.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            case 'h' -> Duration.ofHours(n);
            case 'd' -> Duration.ofDays(n);
            default -> throw new IllegalArgumentException("duration unit of '" + v + "' is s, m, h or d");
        };
    }

    private static String hash(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            return Integer.toHexString(text.hashCode());
        }
    }
}
