package org.hermod.api.filter;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;

/**
 * What a filter decided at one stage: an {@link Action} and changes to the message (route, headers, recipients).
 * Immutable; build one from the static factories and the {@code with…} methods, e.g.
 * {@code FilterDecision.proceed().withRoute(RouteChange.pool("marketing")).withHeaderAdded("X-Tenant", "acme")}.
 *
 * <p>Which parts apply at which stage:
 * <ul>
 * <li>connect, MAIL, RCPT: the action (a reject or defer answers that command; at connect it answers the greeting
 * and closes), route changes (kept for the transaction), and at RCPT {@link #rewrittenRecipient()}.</li>
 * <li>end of data: the action for the whole message, route changes, header additions and removals (applied before
 * the next filter runs and before the message is stored), and {@link #recipients()}.</li>
 * <li>pre-delivery (after queueing): the action (reject fails the recipients with a DSN, defer retries later, hold,
 * discard), route changes and {@link #recipients()}; header changes are not possible there (the content is stored).</li>
 * </ul>
 */
public final class FilterDecision {

    /** What happens to the command, transaction or message. */
    public enum Action {
        /** Go on with the next filter; changes accumulate. */
        CONTINUE,
        /** Accept now: later filters of this stage are not called (changes so far still apply). */
        ACCEPT,
        /** Refuse permanently with {@link #reply()} (5xx). */
        REJECT,
        /** Refuse temporarily with {@link #reply()} (4xx). */
        DEFER,
        /** Accept but keep the message on hold (quarantine) until an operator releases it. */
        HOLD,
        /** Accept and drop silently (the client sees success; nothing is delivered). */
        DISCARD
    }

    private static final FilterDecision PROCEED = new FilterDecision(Action.CONTINUE, null, null, RouteChange.NONE,
            List.of(), List.of(), null, null);

    private final Action action;
    private final SmtpReply reply;
    private final String holdReason;
    private final RouteChange route;
    private final List<HeaderField> headersAdded;
    private final List<String> headersRemoved;
    private final List<Recipient> recipients;
    private final MailAddress rewrittenRecipient;

    private FilterDecision(Action action, SmtpReply reply, String holdReason, RouteChange route,
                           List<HeaderField> headersAdded, List<String> headersRemoved, List<Recipient> recipients,
                           MailAddress rewrittenRecipient) {
        this.action = Objects.requireNonNull(action, "action");
        this.reply = reply;
        this.holdReason = holdReason;
        this.route = route == null ? RouteChange.NONE : route;
        this.headersAdded = List.copyOf(headersAdded);
        this.headersRemoved = List.copyOf(headersRemoved);
        this.recipients = recipients == null ? null : List.copyOf(recipients);
        this.rewrittenRecipient = rewrittenRecipient;
        if (action == Action.REJECT && (reply == null || !reply.isPermanent())) {
            throw new IllegalArgumentException("a reject needs a 5xx reply");
        }
        if (action == Action.DEFER && (reply == null || !reply.isTransient())) {
            throw new IllegalArgumentException("a defer needs a 4xx reply");
        }
        if (reply != null) {
            checkReply(reply);
        }
        if (this.recipients != null && this.recipients.isEmpty()) {
            throw new IllegalArgumentException("recipients may be changed but not emptied; use discard()");
        }
    }

    /** The longest text line of a filter's reply, in UTF-8 octets (the wire limit is 512 with code and status). */
    public static final int MAX_REPLY_LINE = 500;

    /**
     * A filter's reply goes to the client as given, so it must be safe on the wire: each line printable (US-ASCII or
     * UTF-8 without control characters: no CR, LF, NUL, TAB), at most {@link #MAX_REPLY_LINE} octets, and an
     * enhanced status, when given, of the form {@code class.subject.detail} whose class is the code's first digit.
     */
    private static void checkReply(SmtpReply reply) {
        String status = reply.enhancedStatus();
        if (status != null && !SmtpReply.isEnhancedStatusOf(status, reply.code())) {
            throw new IllegalArgumentException("enhanced status " + status + " does not fit reply code "
                    + reply.code());
        }
        for (String line : reply.lines()) {
            if (line.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_REPLY_LINE) {
                throw new IllegalArgumentException("reply line longer than " + MAX_REPLY_LINE + " octets");
            }
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || Character.isSurrogate(c)
                        && !(Character.isHighSurrogate(c) && i + 1 < line.length()
                        && Character.isLowSurrogate(line.charAt(++i)))) {
                    throw new IllegalArgumentException("reply text contains control character U+"
                            + String.format("%04X", (int) c) + " (CR, LF and other controls are not allowed)");
                }
            }
        }
    }

    /** No objection, no change: the next filter decides. */
    public static FilterDecision proceed() {
        return PROCEED;
    }

    /** Accept now, skipping the stage's remaining filters. */
    public static FilterDecision accept() {
        return new FilterDecision(Action.ACCEPT, null, null, null, List.of(), List.of(), null, null);
    }

    /**
     * Refuse permanently, e.g. {@code reject(550, "5.7.1", "Relaying denied")}.
     *
     * @throws IllegalArgumentException when the reply is not 5xx, its enhanced status class is not 5, or a text line
     *         has a control character (CR, LF, NUL…) or is longer than {@link #MAX_REPLY_LINE} octets; a filter that
     *         throws counts as a failed filter (the chain defers)
     */
    public static FilterDecision reject(int code, String enhancedStatus, String text) {
        return reject(SmtpReply.of(code, enhancedStatus, text));
    }

    public static FilterDecision reject(SmtpReply reply) {
        return new FilterDecision(Action.REJECT, reply, null, null, List.of(), List.of(), null, null);
    }

    /**
     * Refuse temporarily, e.g. {@code defer(451, "4.7.1", "Try again later")}.
     *
     * @throws IllegalArgumentException when the reply is not 4xx, its enhanced status class is not 4, or a text line
     *         is unsafe as for {@link #reject(int, String, String)}
     */
    public static FilterDecision defer(int code, String enhancedStatus, String text) {
        return defer(SmtpReply.of(code, enhancedStatus, text));
    }

    public static FilterDecision defer(SmtpReply reply) {
        return new FilterDecision(Action.DEFER, reply, null, null, List.of(), List.of(), null, null);
    }

    /** Accept the message but hold it (quarantine) until released; the reason is shown to operators. */
    public static FilterDecision hold(String reason) {
        return new FilterDecision(Action.HOLD, null, Objects.requireNonNull(reason, "reason"), null, List.of(),
                List.of(), null, null);
    }

    /** Accept and drop silently. */
    public static FilterDecision discard() {
        return new FilterDecision(Action.DISCARD, null, null, null, List.of(), List.of(), null, null);
    }

    /** Continue with a changed route (another pool, a smarthost, tenant, campaign, priority). */
    public static FilterDecision reroute(RouteChange change) {
        return PROCEED.withRoute(change);
    }

    public FilterDecision withRoute(RouteChange change) {
        return new FilterDecision(action, reply, holdReason, route.then(change), headersAdded, headersRemoved,
                recipients, rewrittenRecipient);
    }

    /** Adds a header field at the top of the header section (end of data only). */
    public FilterDecision withHeaderAdded(String name, String value) {
        List<HeaderField> h = new ArrayList<>(headersAdded);
        h.add(new HeaderField(name, value));
        return new FilterDecision(action, reply, holdReason, route, h, headersRemoved, recipients, rewrittenRecipient);
    }

    /** Removes every header field of that name (case-insensitive; end of data only). Removal runs before additions. */
    public FilterDecision withHeaderRemoved(String name) {
        List<String> h = new ArrayList<>(headersRemoved);
        h.add(new HeaderField(name, "").name());
        return new FilterDecision(action, reply, holdReason, route, headersAdded, h, recipients, rewrittenRecipient);
    }

    /** Replaces the message's recipients (end of data and pre-delivery). */
    public FilterDecision withRecipients(List<Recipient> rcpts) {
        return new FilterDecision(action, reply, holdReason, route, headersAdded, headersRemoved,
                Objects.requireNonNull(rcpts, "rcpts"), rewrittenRecipient);
    }

    /** Replaces the recipient of this RCPT command (RCPT stage only), keeping its DSN parameters. */
    public FilterDecision withRecipientRewritten(MailAddress to) {
        return new FilterDecision(action, reply, holdReason, route, headersAdded, headersRemoved, recipients,
                Objects.requireNonNull(to, "to"));
    }

    public Action action() {
        return action;
    }

    /** The reply for REJECT and DEFER; null otherwise. */
    public SmtpReply reply() {
        return reply;
    }

    /** The reason for HOLD; null otherwise. */
    public String holdReason() {
        return holdReason;
    }

    public RouteChange route() {
        return route;
    }

    public List<HeaderField> headersAdded() {
        return headersAdded;
    }

    public List<String> headersRemoved() {
        return headersRemoved;
    }

    /** The new recipients, or null when unchanged. */
    public List<Recipient> recipients() {
        return recipients;
    }

    /** The new address for this RCPT, or null when unchanged. */
    public MailAddress rewrittenRecipient() {
        return rewrittenRecipient;
    }

    /** True when the action ends the stage (anything but CONTINUE). */
    public boolean isFinal() {
        return action != Action.CONTINUE;
    }

    /** True when the decision changes something besides the action. */
    public boolean hasChanges() {
        return !route.isEmpty() || !headersAdded.isEmpty() || !headersRemoved.isEmpty() || recipients != null
                || rewrittenRecipient != null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FilterDecision d && d.action == action && Objects.equals(d.reply, reply)
                && Objects.equals(d.holdReason, holdReason) && d.route.equals(route)
                && d.headersAdded.equals(headersAdded) && d.headersRemoved.equals(headersRemoved)
                && Objects.equals(d.recipients, recipients) && Objects.equals(d.rewrittenRecipient, rewrittenRecipient);
    }

    @Override
    public int hashCode() {
        return Objects.hash(action, reply, holdReason, route, headersAdded, headersRemoved, recipients,
                rewrittenRecipient);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(action.name().toLowerCase(java.util.Locale.ROOT));
        if (reply != null) {
            sb.append(' ').append(reply);
        }
        if (holdReason != null) {
            sb.append(" (").append(holdReason).append(')');
        }
        if (!route.isEmpty()) {
            sb.append(" route ").append(route);
        }
        headersAdded.forEach(h -> sb.append(" +").append(h.name()));
        headersRemoved.forEach(h -> sb.append(" -").append(h));
        if (recipients != null) {
            sb.append(" recipients ").append(recipients.size());
        }
        if (rewrittenRecipient != null) {
            sb.append(" rcpt->").append(rewrittenRecipient);
        }
        return sb.toString();
    }
}
