package org.hermod.bounce.internal.parse;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.hermod.api.bounce.BounceReport.Kind;

/**
 * Turns a raw message into a {@link ParsedBounce}: RFC 3464 DSNs, RFC 5965 ARF reports, RFC 3834 auto-replies and
 * the non-standard bounce formats of common MTAs (recognised by structure, not per vendor: recipient addresses in the
 * human-readable part, the SMTP reply and enhanced status near them). Never throws.
 */
public final class BounceParser {

    /** Most of a raw message that is parsed. */
    static final int MAX_RAW = 1 << 20;
    /** Most human-readable text that is scanned. */
    static final int MAX_HUMAN = 64 * 1024;
    /** Longest diagnostic kept per recipient. */
    static final int MAX_DIAG = 4096;
    /** Most recipients taken from one message. */
    static final int MAX_RECIPIENTS = 500;
    /** Longest field value in a DSN field block. */
    private static final int MAX_FIELD = 4096;

    // linear: a match only starts where a run of local-part characters starts (no retry from every position),
    // and nothing backtracks (possessive quantifiers; labels are alphanumeric runs joined by hyphen runs)
    static final Pattern EMAIL = Pattern.compile(
            "(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.\\-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\\-]++@"
                    + "[A-Za-z0-9]++(?:-++[A-Za-z0-9]++)*+(?:\\.[A-Za-z0-9]++(?:-++[A-Za-z0-9]++)*+)++");
    static final Pattern STATUS = Pattern.compile("(?<![0-9.])([245])\\.([0-9]{1,3})\\.([0-9]{1,3})(?![0-9]|\\.[0-9])");
    static final Pattern CODE = Pattern.compile("(?<![0-9.\\-:/])([45][0-9][0-9])(?:[ \\-]|$)");
    /** Lines after which a non-standard bounce quotes the original message. */
    static final Pattern ORIGINAL_MARKER = Pattern.compile(
            "^\\s*+(-{2,}+.*(original message|copy of the message|below this line|message headers|returned message|"
                    + "original mail|undelivered message|headers of the message|message follows|forwarded message)"
                    + "|.*(below this line is a copy of the message|the original message (headers )?(is|are|was) "
                    + "(attached|included|below|as follows)|message headers follow|original message follows|"
                    + "this is a copy of the message|the header of the original message)"
                    + "|content-type: message/rfc822|content-type: text/rfc822-headers"
                    + "|received: (from|by) )",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern HEADER_LINE = Pattern.compile(
            "^\\s*(to|from|cc|bcc|subject|sent|date|reply-to|return-path|message-id|x-[a-z\\-]+|sender|"
                    + "original-recipient|envelope-to|delivered-to)\\s*:",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern BOUNCE_SUBJECT = Pattern.compile(
            "undeliver|undelivered|delivery (status|failure|has failed|notification|problem|failed)|failure notice|"
                    + "returned mail|mail delivery|non.?delivery|delivery report|could not be delivered|"
                    + "not delivered|nondeliverable|returned to sender|mail system error|warning: could not send|"
                    + "delayed mail|delivery delayed|failed mail|rejected|bounce|mail failure|error sending|"
                    + "unable to deliver|message status|permanent error|delivery notification",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern BOUNCE_FROM = Pattern.compile(
            "mailer-daemon|postmaster|mail delivery|mail.?administrator|maildelivery|mailerdaemon|"
                    + "no-?reply.*(bounce|dsn)|bounce|ndr|mailer@|mail\\.system|smtp gateway|system administrator",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern AUTOREPLY_SUBJECT = Pattern.compile(
            "^\\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|vacation|on vacation|away from|"
                    + "abwesenheit|absence|autoreply|r[ée]ponse automatique|自動応答|自動返信|不在)"
                    + "|\\b(auto(matic)?[ -]?reply|out of (the )?office|autoresponse)\\b",
            Pattern.CASE_INSENSITIVE);
    private static final Set<String> SKIP_LOCAL = Set.of("mailer-daemon", "postmaster", "root", "daemon",
            "noreply", "no-reply", "abuse", "nobody", "mail-daemon", "mailerdaemon", "bounce", "bounces");

    private BounceParser() {
    }

    public static ParsedBounce parse(byte[] raw) {
        try {
            if (raw.length > MAX_RAW) {
                raw = java.util.Arrays.copyOf(raw, MAX_RAW);
            }
            return doParse(raw);
        } catch (Throwable t) { // never let a malformed message out; StackOverflowError included
            if (t instanceof VirtualMachineError && !(t instanceof StackOverflowError)) {
                throw (VirtualMachineError) t;
            }
            return new ParsedBounce(Kind.UNKNOWN, null, List.of(), null, t.getClass().getSimpleName() + ": "
                    + t.getMessage());
        }
    }

    /** As {@link #parse} but every failure is thrown (for the fuzz target, which tells malformed input from bugs). */
    static ParsedBounce doParse(byte[] raw) throws Exception {
        MimeView v = MimeView.parse(raw);
        String subject = nz(v.header("Subject"));
        String from = nz(v.header("From"));
        String origId = originalMessageId(v);

        // 1. ARF feedback report
        for (MimeView.Part p : v.parts) {
            if (p.mimeType().equals("message/feedback-report") && !p.inAttachedMessage()) {
                return arf(v, p, origId);
            }
        }
        // 2. RFC 3464 delivery-status
        for (MimeView.Part p : v.parts) {
            if ((p.mimeType().equals("message/delivery-status") || p.mimeType().equals("message/global-delivery-status"))
                    && !p.inAttachedMessage()) {
                ParsedBounce dsn = dsn(p.text(), humanText(v), origId);
                if (dsn != null) {
                    return dsn;
                }
            }
        }
        // 2b. a delivery-status block inside a text part (broken MIME boundaries, DSNs pasted as text)
        for (MimeView.Part p : v.parts) {
            if (p.inAttachedMessage() || !p.mimeType().startsWith("text/plain")) {
                continue;
            }
            int at = embeddedDsnStart(p.text());
            if (at >= 0) {
                String human = cutAtOriginal(p.text().substring(0, at));
                ParsedBounce dsn = dsn(embeddedDsn(p.text().substring(at)), human, origId);
                if (dsn != null) {
                    return dsn;
                }
            }
        }
        // 2c. a bounce that forwards another MTA's DSN as an attached message and says nothing itself
        String outer = humanText(v);
        if (!STATUS.matcher(outer).find() && replyCode(outer) == 0) {
            for (MimeView.Part p : v.parts) {
                if ((p.mimeType().equals("message/delivery-status")
                        || p.mimeType().equals("message/global-delivery-status")) && p.inAttachedMessage()) {
                    ParsedBounce dsn = dsn(p.text(), "", origId);
                    if (dsn != null && !dsn.recipients().isEmpty()) {
                        return dsn;
                    }
                }
            }
        }
        if ("feedback-report".equals(v.reportType)) {
            return new ParsedBounce(Kind.COMPLAINT, null, List.of(), origId, null);
        }
        ParsedBounce jmrp = jmrp(v, origId);
        if (jmrp != null) {
            return jmrp;
        }
        boolean bounceLike = BOUNCE_SUBJECT.matcher(subject).find() || BOUNCE_FROM.matcher(from).find()
                || "delivery-status".equals(v.reportType);
        // 3. auto-replies: RFC 3834 headers or typical subjects, when it does not look like a bounce
        String autoSubmitted = nz(v.header("Auto-Submitted")).toLowerCase(Locale.ROOT);
        boolean autoHeader = autoSubmitted.startsWith("auto-replied") || v.header("X-Autoreply") != null
                || v.header("X-Autorespond") != null || v.header("X-Vacation") != null
                || nz(v.header("Precedence")).equalsIgnoreCase("auto_reply")
                || v.header("X-Auto-Response-Suppress") != null && AUTOREPLY_SUBJECT.matcher(subject).find();
        if (!bounceLike && (autoHeader || AUTOREPLY_SUBJECT.matcher(subject).find())) {
            return new ParsedBounce(Kind.AUTO_REPLY, null, List.of(), origId, null);
        }
        // 4. non-standard bounce: scan the human-readable text
        ParsedBounce ns = nonStandard(v, origId);
        if (ns != null && !ns.recipients().isEmpty()) {
            return ns;
        }
        if (autoHeader) {
            return new ParsedBounce(Kind.AUTO_REPLY, null, List.of(), origId, null);
        }
        return new ParsedBounce(Kind.UNKNOWN, null, List.of(), origId, null);
    }

    // ---------------------------------------------------------------- ARF

    private static ParsedBounce arf(MimeView v, MimeView.Part report, String origId) {
        Map<String, String> f = fields(report.text()).get(0);
        String type = f.getOrDefault("feedback-type", "abuse").trim().toLowerCase(Locale.ROOT);
        String rcpt = firstEmail(f.get("original-rcpt-to"));
        if (rcpt == null) {
            rcpt = firstEmail(f.get("removal-recipient"));
        }
        if (rcpt == null) {
            for (MimeView.Part p : v.parts) {
                if (p.mimeType().equals("text/rfc822-headers") || p.mimeType().equals("message/rfc822-headers")) {
                    rcpt = firstEmail(headerValue(p.text(), "To"));
                    if (rcpt != null) {
                        break;
                    }
                }
            }
        }
        List<String> senders = new ArrayList<>();
        for (MimeView.Part p : v.parts) {
            if (p.mimeType().equals("text/rfc822-headers") || p.mimeType().equals("message/rfc822-headers")) {
                for (String h : new String[] {"Return-Path", "Sender", "From", "Errors-To"}) {
                    String a = firstEmail(headerValue(p.text(), h));
                    if (a != null && !senders.contains(a) && senders.size() < 10) {
                        senders.add(a);
                    }
                }
            }
        }
        String omf = firstEmail(f.get("original-mail-from"));
        if (omf != null && !senders.contains(omf)) {
            senders.add(omf);
        }
        List<ParsedBounce.Item> items = new ArrayList<>();
        items.add(new ParsedBounce.Item(rcpt, null, "complaint", null, 0, "feedback-type: " + type,
                f.get("reporting-mta")));
        return new ParsedBounce(Kind.COMPLAINT, type, items, origId, null, senders);
    }

    /**
     * Microsoft's Junk Mail Reporting Program (JMRP, Outlook.com/Hotmail "Smart Network Data Services" documentation):
     * not ARF, but the reported message as a message/rfc822 attachment (or, once forwarded, inline) carrying
     * {@code X-HmXmrOriginalRecipient}, the user who complained. Null when the message is no JMRP report.
     */
    private static ParsedBounce jmrp(MimeView v, String origId) {
        String rcpt = firstEmail(v.header("X-HmXmrOriginalRecipient"));
        List<String> senders = new ArrayList<>();
        if (rcpt != null) {
            addSenders(senders, v.header("Return-Path"), v.header("Sender"), v.header("From"));
        } else {
            for (MimeView.Part p : v.parts) {
                if (p.mimeType().equals("text/rfc822-headers") && p.inAttachedMessage()) {
                    rcpt = firstEmail(headerValue(p.text(), "X-HmXmrOriginalRecipient"));
                    if (rcpt != null) {
                        addSenders(senders, headerValue(p.text(), "Return-Path"), headerValue(p.text(), "Sender"),
                                headerValue(p.text(), "From"));
                        break;
                    }
                }
            }
        }
        if (rcpt == null) {
            return null;
        }
        senders.removeIf(a -> a.endsWith("@hotmail.com") && a.startsWith("staff@"));
        List<ParsedBounce.Item> items = List.of(new ParsedBounce.Item(rcpt, null, "complaint", null, 0,
                "feedback-type: abuse (Microsoft JMRP)", null));
        return new ParsedBounce(Kind.COMPLAINT, "abuse", items, origId, null, senders);
    }

    private static void addSenders(List<String> senders, String... values) {
        for (String h : values) {
            String a = firstEmail(h);
            if (a != null && !senders.contains(a) && senders.size() < 10) {
                senders.add(a);
            }
        }
    }

    // ---------------------------------------------------------------- RFC 3464

    private static final Pattern DSN_FIELD = Pattern.compile(
            "(?im)^(reporting-mta|original-recipient|final-recipient)\\s*:");

    /** Offset of an RFC 3464 field block (with Final-Recipient and Action or Status) in a text, or -1. */
    static int embeddedDsnStart(String text) {
        Matcher m = DSN_FIELD.matcher(text);
        if (!m.find()) {
            return -1;
        }
        String rest = text.substring(m.start());
        if (!Pattern.compile("(?im)^final-recipient\\s*:").matcher(rest).find()
                || !Pattern.compile("(?im)^(action|status)\\s*:").matcher(rest).find()) {
            return -1;
        }
        return m.start();
    }

    /** The field block of an embedded DSN, up to the next MIME boundary or the quoted original message. */
    static String embeddedDsn(String text) {
        StringBuilder sb = new StringBuilder();
        for (String line : text.split("\r?\n")) {
            String t = line.strip().toLowerCase(Locale.ROOT);
            if (t.startsWith("--") || t.startsWith("content-type:") || t.startsWith("return-path:")
                    || t.startsWith("received:")) {
                break;
            }
            sb.append(line).append('\n');
        }
        return sb.toString();
    }

    private static ParsedBounce dsn(String dsText, String human, String origId) {
        List<Map<String, String>> groups = fields(dsText);
        if (groups.isEmpty()) {
            return null;
        }
        String reportingMta = null;
        List<ParsedBounce.Item> failed = new ArrayList<>();
        boolean sawDelivered = false;
        boolean allDelayed = true;
        for (Map<String, String> g : groups) {
            if (failed.size() >= MAX_RECIPIENTS) {
                break;
            }
            if (g.containsKey("reporting-mta") && !g.containsKey("final-recipient")
                    && !g.containsKey("original-recipient")) {
                reportingMta = typed(g.get("reporting-mta"));
                continue;
            }
            if (!g.containsKey("final-recipient") && !g.containsKey("original-recipient")
                    && !g.containsKey("action") && !g.containsKey("status")) {
                continue;
            }
            String action = nz(g.get("action")).trim().toLowerCase(Locale.ROOT);
            int sp = action.indexOf(' ');
            if (sp > 0) {
                action = action.substring(0, sp);
            }
            if (action.equals("delivered") || action.equals("relayed") || action.equals("expanded")
                    || action.equals("deliverable") || nz(g.get("status")).strip().startsWith("2.")) {
                sawDelivered = true;
                continue;
            }
            String rcpt = firstEmail(typed(g.get("final-recipient")));
            String orig = firstEmail(typed(g.get("original-recipient")));
            if (rcpt == null) {
                rcpt = orig;
            }
            String status = null;
            Matcher sm = STATUS.matcher(nz(g.get("status")));
            if (sm.find()) {
                status = sm.group();
            }
            String diag = unwrap(typed(g.get("diagnostic-code")));
            if (diag == null || diag.isBlank()) {
                diag = null;
            }
            String comment = null;
            if (diag == null) { // "Status: 4.0.0 (cat.example.net: host name lookup failure)"
                comment = nz(g.get("status")).replaceFirst("^\\s*[245]\\.[0-9]{1,3}\\.[0-9]{1,3}", "").strip();
                if (comment.matches("(?s)\\(.*[A-Za-z]{3,}.*\\)") && !comment.matches(
                        "(?i)\\((permanent|temporary|transient|persistent)( failure| error)?\\)")) {
                    comment = comment.substring(1, comment.length() - 1).strip();
                } else {
                    comment = null;
                }
            }
            String remote = typed(g.get("remote-mta"));
            String block = rcpt == null ? null : blockFor(human, rcpt);
            String text = diag != null ? diag : block != null ? block : comment != null ? comment : human;
            if (diag != null && block != null && isVague(diag)) {
                text = diag + "\n" + block;
            } else if (diag != null && block != null) {
                text = diag + stageOf(block, diag);
            }
            text = cap(text);
            int code = replyCode(diag != null ? diag : text);
            String fromText = pickStatus(diag != null ? diag : text);
            if (fromText != null && (status == null || status.endsWith(".0.0") || status.matches(".\\.4\\.7")
                    || !fromText.endsWith(".0.0") && !fromText.matches(".\\.4\\.7")
                    && fromText.charAt(0) == status.charAt(0))) {
                status = fromText;
            }
            if (action.isEmpty()) {
                action = status != null && status.startsWith("4") ? "delayed" : "failed";
            }
            if (!action.equals("delayed")) {
                allDelayed = false;
            }
            failed.add(new ParsedBounce.Item(rcpt, orig, action, status, code, cap(text.strip()), remote));
        }
        if (failed.isEmpty()) {
            return sawDelivered ? new ParsedBounce(Kind.DELIVERED, null, List.of(), origId, null) : null;
        }
        return new ParsedBounce(allDelayed ? Kind.DELAY : Kind.BOUNCE, null, failed, origId, null);
    }

    static String cap(String text) {
        return text == null || text.length() <= MAX_DIAG ? text : text.substring(0, MAX_DIAG);
    }

    private static boolean isVague(String diag) {
        String d = diag.replaceAll("(?i)\\bsmtp;?|[0-9.#()\\s<>\\-]", "");
        return d.length() < 12;
    }

    /** "rfc822; user@example.com" to "user@example.com". */
    private static String typed(String v) {
        if (v == null) {
            return null;
        }
        int semi = v.indexOf(';');
        if (semi >= 0 && semi < 20 && v.substring(0, semi).matches("\\s*[A-Za-z0-9\\-]+\\s*")) {
            v = v.substring(semi + 1);
        }
        return v.strip();
    }

    /** Header-style field groups separated by blank lines; names lower-cased, folded lines joined. */
    static List<Map<String, String>> fields(String text) {
        List<Map<String, String>> groups = new ArrayList<>();
        Map<String, String> cur = new LinkedHashMap<>();
        String last = null;
        for (String line : text.split("\r?\n")) {
            if (line.isBlank()) {
                if (!cur.isEmpty()) {
                    groups.add(cur);
                    cur = new LinkedHashMap<>();
                }
                last = null;
                continue;
            }
            if ((line.startsWith(" ") || line.startsWith("\t")) && last != null) {
                if (cur.get(last).length() < MAX_FIELD) {
                    cur.put(last, cur.get(last) + " " + line.strip());
                }
                continue;
            }
            int colon = line.indexOf(':');
            if (colon > 0 && colon < 80 && line.substring(0, colon).matches("[A-Za-z0-9\\-]+")) {
                String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
                if (cur.containsKey(name) && (name.equals("final-recipient") || name.equals("original-recipient")
                        && cur.containsKey("final-recipient") && cur.containsKey("action"))) {
                    groups.add(cur); // a missing blank line between recipient groups
                    cur = new LinkedHashMap<>();
                }
                if (!cur.containsKey(name)) {
                    cur.put(name, line.substring(colon + 1).strip());
                }
                last = name;
            } else if (last != null && cur.get(last).length() < MAX_FIELD) {
                cur.put(last, cur.get(last) + " " + line.strip());
            }
        }
        if (!cur.isEmpty()) {
            groups.add(cur);
        }
        if (groups.isEmpty()) {
            groups.add(new LinkedHashMap<>());
        }
        return groups;
    }

    // ---------------------------------------------------------------- non-standard

    /** The human-readable bounce text: text parts outside the returned message, cut at the quoted original. */
    static String humanText(MimeView v) {
        StringBuilder sb = new StringBuilder();
        for (MimeView.Part p : v.parts) {
            if (p.inAttachedMessage() || p.attachment() && !p.mimeType().startsWith("text/plain")) {
                continue;
            }
            String t = p.mimeType();
            // an empty text/plain alternative (HTML-only Exchange NDRs) does not hide the HTML part
            if (t.equals("text/plain") || t.equals("text/html") && sb.toString().isBlank()) {
                String text = t.equals("text/html") ? stripHtml(p.text()) : p.text();
                if (text.isBlank()) {
                    continue;
                }
                sb.append(cutAtOriginal(text)).append('\n');
                if (sb.length() >= MAX_HUMAN) {
                    break;
                }
            }
        }
        if (sb.toString().isBlank()) {
            sb.setLength(0);
            for (MimeView.Part p : v.parts) {
                if (p.mimeType().equals("text/html") && !p.inAttachedMessage()) {
                    sb.append(cutAtOriginal(stripHtml(p.text()))).append('\n');
                    if (sb.length() >= MAX_HUMAN) {
                        break;
                    }
                }
            }
        }
        return sb.length() > MAX_HUMAN ? sb.substring(0, MAX_HUMAN) : sb.toString();
    }

    static String stripHtml(String html) {
        if (html.length() > 4 * MAX_HUMAN) {
            html = html.substring(0, 4 * MAX_HUMAN);
        }
        return dropScriptAndStyle(html)
                .replaceAll("(?i)<br\\s*+/?>|</p>|</div>|</tr>|</li>|</h[1-6]>", "\n")
                .replaceAll("<[^<>]*+>", " ").replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">")
                .replace("&amp;", "&").replace("&quot;", "\"").replaceAll("[ \\t]+", " ");
    }

    /** Removes script and style elements, in linear time (an unclosed element is left as is). */
    static String dropScriptAndStyle(String html) {
        String lower = html.toLowerCase(Locale.ROOT);
        if (lower.length() != html.length()) {
            return html;
        }
        StringBuilder sb = new StringBuilder(html.length());
        int pos = 0;
        boolean[] unclosed = new boolean[2];
        String[] names = {"script", "style"};
        while (pos < html.length()) {
            int best = -1;
            int which = -1;
            for (int k = 0; k < 2; k++) {
                if (unclosed[k]) {
                    continue;
                }
                int i = lower.indexOf("<" + names[k], pos);
                if (i >= 0 && (best < 0 || i < best)) {
                    best = i;
                    which = k;
                }
            }
            if (best < 0) {
                break;
            }
            int close = lower.indexOf("</" + names[which], best);
            int gt = close < 0 ? -1 : lower.indexOf('>', close);
            if (gt < 0) {
                unclosed[which] = true;
                continue;
            }
            sb.append(html, pos, best).append(' ');
            pos = gt + 1;
        }
        return sb.append(html, pos, html.length()).toString();
    }

    static String cutAtOriginal(String text) {
        String[] lines = text.split("\r?\n");
        StringBuilder sb = new StringBuilder();
        int n = 0;
        for (String line : lines) {
            if (n > 2 && ORIGINAL_MARKER.matcher(line).find()) {
                break;
            }
            sb.append(line).append('\n');
            n++;
        }
        return sb.toString();
    }

    private static ParsedBounce nonStandard(MimeView v, String origId) {
        String human = humanText(v);
        if (human.isBlank()) {
            return null;
        }
        Set<String> exclude = new LinkedHashSet<>();
        for (String h : new String[] {"From", "To", "Sender", "Return-Path", "Reply-To", "Delivered-To",
                "X-Original-To", "Envelope-To"}) {
            Matcher m = EMAIL.matcher(nz(v.header(h)));
            while (m.find()) {
                exclude.add(m.group().toLowerCase(Locale.ROOT));
            }
        }
        String origFrom = null;
        String origTo = null;
        for (MimeView.Part p : v.parts) {
            if (p.mimeType().equals("text/rfc822-headers") || p.mimeType().equals("message/rfc822-headers")) {
                origFrom = origFrom == null ? firstEmail(headerValue(p.text(), "From")) : origFrom;
                origTo = origTo == null ? firstEmail(headerValue(p.text(), "To")) : origTo;
            }
        }
        if (origFrom == null) {
            origFrom = firstEmail(headerValue(inlineOriginal(v), "From"));
        }
        if (origTo == null) {
            origTo = firstEmail(headerValue(inlineOriginal(v), "To"));
        }
        if (origFrom != null) {
            exclude.add(origFrom);
        }
        String[] lines = human.split("\n");
        // first mention (line index) of each candidate recipient
        LinkedHashMap<String, Integer> first = new LinkedHashMap<>();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (HEADER_LINE.matcher(line).find() || line.matches("(?i)^\\s*(>>>\\s*)?(mail from|helo|ehlo)\\b.*")) {
                continue;
            }
            Matcher m = EMAIL.matcher(line);
            while (m.find() && first.size() < MAX_RECIPIENTS) {
                String a = clean(m.group());
                if (a == null || exclude.contains(a) || first.containsKey(a)) {
                    continue;
                }
                String local = a.substring(0, a.indexOf('@'));
                if (SKIP_LOCAL.contains(local) || a.matches(".*@\\[?[0-9.]+\\]?$")) {
                    continue;
                }
                // a message id like <1234.abc@host> is not a recipient
                int s = m.start();
                if (s > 0 && line.charAt(s - 1) == '<' && local.matches(".*[0-9]{6,}.*")
                        && line.toLowerCase(Locale.ROOT).contains("message-id")) {
                    continue;
                }
                first.put(a, i);
            }
        }
        List<ParsedBounce.Item> items = new ArrayList<>();
        List<Map.Entry<String, Integer>> entries = new ArrayList<>(first.entrySet());
        if (entries.isEmpty()) {
            boolean looksBounce = BOUNCE_SUBJECT.matcher(nz(v.header("Subject"))).find()
                    || BOUNCE_FROM.matcher(nz(v.header("From"))).find();
            if (!looksBounce) {
                return null;
            }
            String text = human.strip();
            items.add(item(origTo, cap(text)));
            return new ParsedBounce(kindOf(items), null, items, origId, null);
        }
        if (entries.size() == 1) {
            items.add(item(entries.get(0).getKey(), cap(human.strip())));
        } else {
            for (int k = 0; k < entries.size(); k++) {
                int start = entries.get(k).getValue();
                int end = k + 1 < entries.size() ? entries.get(k + 1).getValue() : lines.length;
                if (end <= start) { // several recipients on one line: share it
                    end = start + 1;
                    while (end < lines.length && !lines[end].isBlank() && !EMAIL.matcher(lines[end]).find()) {
                        end++;
                    }
                }
                StringBuilder block = new StringBuilder();
                for (int i = start; i < end; i++) {
                    block.append(lines[i]).append('\n');
                }
                String b = block.toString();
                Matcher cm = CODE.matcher(b);
                if (cm.find()) { // the recipient's block ends at the first blank line after its reply
                    int cut = b.indexOf("\n\n", cm.end());
                    if (cut > 0) {
                        b = b.substring(0, cut);
                    }
                }
                if (STATUS.matcher(b).find() || CODE.matcher(b).find() || b.strip().length() > 40) {
                    items.add(item(entries.get(k).getKey(), cap(b.strip())));
                } else {
                    // no diagnostic of its own: the bounce's general text applies (its beginning only)
                    String general = human.length() > MAX_DIAG ? human.substring(0, MAX_DIAG) : human;
                    items.add(item(entries.get(k).getKey(), cap((b + "\n" + general).strip())));
                }
            }
        }
        return new ParsedBounce(kindOf(items), null, items, origId, null);
    }

    private static Kind kindOf(List<ParsedBounce.Item> items) {
        for (ParsedBounce.Item i : items) {
            if (!"delayed".equals(i.action())) {
                return Kind.BOUNCE;
            }
        }
        return Kind.DELAY;
    }

    private static final Pattern STATUS_AFTER_CODE = Pattern.compile(
            "(?<![0-9.])[245][0-9][0-9][ \\-]'?(?:#)?([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9]|\\.[0-9])");

    /** The most telling enhanced status in a text: one right after a reply code, not x.0.0 or x.4.7, first. */
    static String pickStatus(String text) {
        if (text == null) {
            return null;
        }
        List<String> afterCode = new ArrayList<>();
        Matcher a = STATUS_AFTER_CODE.matcher(text);
        while (a.find()) {
            afterCode.add(a.group(1));
        }
        List<String> all = new ArrayList<>();
        Matcher m = STATUS.matcher(text);
        while (m.find()) {
            all.add(m.group());
        }
        for (List<String> list : List.of(afterCode, all)) {
            for (String s : list) {
                if (!s.endsWith(".0.0") && !s.matches(".\\.4\\.7")) {
                    return s;
                }
            }
        }
        return all.isEmpty() ? null : all.get(0);
    }

    /**
     * A relay's own summary wrapped around the receiving server's reply ({@code 5.1.0 - Unknown address error
     * 550-'5.7.1 ... Access denied'}, Amazon SES and other gateways): the summary is the relay's guess, the quoted reply
     * is the evidence, so the summary is dropped.
     */
    public static String unwrap(String text) {
        if (text == null) {
            return null;
        }
        return WRAPPED_REPLY.matcher(text).replaceFirst("$1 ");
    }

    private static final Pattern WRAPPED_REPLY = Pattern.compile(
            "(?<![0-9.])[245]\\.[0-9]{1,3}\\.[0-9]{1,3} - [A-Za-z][A-Za-z ]{2,60}? ([245][0-9][0-9])[- ]'");

    /** The SMTP command a human-readable block says the reply answered, when the diagnostic does not. */
    static final Pattern STAGE = Pattern.compile(
            "(?i)in\\s+reply\\s+to\\s+(end\\s+of\\s+data|data|rcpt\\s+to|mail\\s+from)\\s+command"
            + "|after\\s+(end\\s+of\\s+data|rcpt\\s+to|mail\\s+from|pipelined\\s+data|data)\\b|for\\s+text\\s+command");

    /** " (in reply to end of DATA command)" from the block when the diagnostic lacks it, else "". */
    static String stageOf(String block, String diag) {
        Matcher m = STAGE.matcher(block);
        if (!m.find() || STAGE.matcher(diag).find()) {
            return "";
        }
        return " (" + m.group().replaceAll("\\s+", " ") + ")";
    }

    private static ParsedBounce.Item item(String rcpt, String text) {
        text = unwrap(text);
        String status = pickStatus(text);
        int code = replyCode(text);
        String action = "failed";
        boolean noHardCode = (status == null || status.startsWith("4")) && (code == 0 || code < 500);
        boolean expired = text.toLowerCase(Locale.ROOT).matches("(?s).*(envelope expired|message expired|"
                + "i.?ve given up|i.?m not going to try again|this is a permanent error).*");
        if (noHardCode && !expired && text.toLowerCase(Locale.ROOT).matches("(?s).*(will (be )?(retry|try again|continue "
                + "trying|keep trying)|still trying|has been delayed|delivery (is )?delayed|not yet been delivered|"
                + "temporary failure report|warning message only|is kept in the queue).*")) {
            action = "delayed";
        }
        return new ParsedBounce.Item(rcpt, null, action, status, code, text, null);
    }

    static int replyCode(String text) {
        if (text == null) {
            return 0;
        }
        Matcher m = CODE.matcher(text);
        while (m.find()) {
            int c = Integer.parseInt(m.group(1));
            // skip numbers that are clearly not reply codes (ports, sizes): require a status or text after it
            int end = m.end();
            String after = text.substring(end, Math.min(text.length(), end + 12)).toLowerCase(Locale.ROOT);
            if (after.startsWith("bytes") || after.startsWith("kb") || after.startsWith("mb")
                    || after.startsWith("seconds") || after.startsWith("days") || after.startsWith("hours")) {
                continue;
            }
            return c;
        }
        return 0;
    }

    private static String inlineOriginal(MimeView v) {
        for (MimeView.Part p : v.parts) {
            if (p.mimeType().equals("text/plain") && !p.inAttachedMessage()) {
                String t = p.text();
                String[] lines = t.split("\r?\n");
                int n = 0;
                for (int i = 0; i < lines.length; i++) {
                    if (n++ > 2 && ORIGINAL_MARKER.matcher(lines[i]).find()) {
                        StringBuilder sb = new StringBuilder();
                        for (int j = i; j < lines.length && j < i + 80; j++) {
                            sb.append(lines[j]).append('\n');
                        }
                        return sb.toString();
                    }
                }
            }
        }
        return "";
    }

    private static String clean(String a) {
        if (a.length() > 320) {
            return null;
        }
        a = a.toLowerCase(Locale.ROOT);
        while (a.endsWith(".")) {
            a = a.substring(0, a.length() - 1);
        }
        while (a.startsWith(".") || a.startsWith("'") || a.startsWith("=")) {
            a = a.substring(1);
        }
        if (a.startsWith("rfc822;")) {
            a = a.substring(7);
        }
        return a.indexOf('@') > 0 ? a : null;
    }

    /** The recipient's block in the human-readable text, or null. */
    static String blockFor(String human, String rcpt) {
        if (human == null || rcpt == null) {
            return null;
        }
        String lower = human.toLowerCase(Locale.ROOT);
        int i = lower.indexOf(rcpt);
        if (i < 0) {
            return null;
        }
        int start = lower.lastIndexOf('\n', i) + 1;
        int end = lower.indexOf("\n\n", i);
        if (end < 0 || end - start < 40) {
            end = Math.min(lower.length(), start + 600);
        }
        return human.substring(start, end);
    }

    private static String originalMessageId(MimeView v) {
        for (MimeView.Part p : v.parts) {
            if (p.mimeType().equals("text/rfc822-headers") || p.mimeType().equals("message/rfc822-headers")) {
                String id = headerValue(p.text(), "Message-ID");
                if (id != null) {
                    return id.strip();
                }
            }
        }
        return null;
    }

    static String headerValue(String headers, String name) {
        if (headers == null) {
            return null;
        }
        Matcher m = Pattern.compile("(?im)^" + Pattern.quote(name) + "\\s*:\\s*(.*)$").matcher(headers);
        return m.find() ? m.group(1) : null;
    }

    static String firstEmail(String s) {
        if (s == null) {
            return null;
        }
        Matcher m = EMAIL.matcher(s);
        return m.find() ? clean(m.group()) : null;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
