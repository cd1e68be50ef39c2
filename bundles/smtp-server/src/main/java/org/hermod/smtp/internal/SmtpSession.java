package org.hermod.smtp.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.Spool;
import org.hermod.api.spool.SpoolFullException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * One client session: the RFC 5321 command state machine. Runs on the channel's event loop and never blocks: storing a
 * message is asynchronous, and while it is under way the decoder is paused so pipelined commands wait their turn.
 * Replies are written as they are produced and flushed once per read batch, so a pipelined group gets one write.
 *
 * <p>Routing filters: the connection takes the filter chain in force for its connect stage, and each transaction takes
 * a fresh snapshot at MAIL that serves its MAIL, RCPT and end-of-data stages, so a transaction finishes with the
 * filters it started with. A stage no filter serves costs nothing; otherwise it runs on a filter thread like a spool
 * write, with input paused until it completes. Bounce input (mail to the VERP bounce domain) is not filtered: it is
 * Hermod's own traffic, processed and never relayed.
 */
final class SmtpSession extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(SmtpSession.class);
    static final int JUNK_LIMIT = 100;
    /** RFC 5321 4.5.3.1.1. Only enforced for recipients: real senders (SRS, VERP) are often longer. */
    static final int MAX_LOCAL_PART = 64;
    static final String SPOOL_FULL = "452 4.3.1 Error: insufficient system resources (queue file system full), try again later";
    /** What a filter stage that failed outside the chain's own fail-safe (it threw, or returned nothing) answers. */
    private static final FilterDecision FILTER_FAILED = FilterDecision.defer(451, "4.3.0",
            "Error: message filter failed, try again later");
    static final String FILTERS_UNAVAILABLE = "451 4.3.0 Error: routing filters unavailable, try again later";
    private static final java.util.regex.Pattern POSTMASTER =
            java.util.regex.Pattern.compile("(?i)\\s*TO:\\s*<postmaster>(\\s.*)?");

    private final SmtpSettings settings;
    private final Spool spool;
    private final SmtpFrameDecoder decoder;
    private final RecipientPolicy policy;
    private final SessionServices services;
    private final ListenerMode mode;

    private ChannelHandlerContext ctx;
    private InetAddress clientIp;
    private String heloName;
    private boolean esmtp;
    private int errors;
    private int junk;
    private boolean closing;
    private boolean busy;
    /** When the current asynchronous step began (valid while busy). */
    private long busySince;
    private long lastActivity;
    /** Since when the client has been sending a command line it has not finished (0: none), and the total so far. */
    private long partialSince;
    private long lineTimeSpent;
    private long dataStarted;
    private long sessionStarted;
    private ScheduledFuture<?> timeout;

    // transaction
    private MailAddress sender;
    private Map<String, String> mailParams;
    private final List<Recipient> recipients = new ArrayList<>();
    private long declaredSize;
    /** The filter chain the transaction started with (null: none), and the route its filters decided so far. */
    private FilterChain transactionChain;
    private Route route = Route.DEFAULT;
    /** The route after the MAIL stage: what a recipient gets before its own RCPT stage changes it. */
    private Route mailRoute = Route.DEFAULT;
    /** A MAIL or RCPT filter's hold reason (null: none): the message is stored on hold unless end of data decides otherwise. */
    private String transactionHold;
    /** The MAIL filters are to run with the first recipient that passes Hermod's own checks (delayMailFilters). */
    private boolean mailFiltersPending;
    /** What the delayed MAIL filters answered when they refused the transaction: every RCPT gets it (null: none). */
    private FilterDecision mailRefusal;
    /** A MAIL filter discarded the transaction, or RCPT filters discarded every recipient: accept and drop. */
    private boolean discardMessage;
    /** Recipients a RCPT filter discarded (answered 250, not added). */
    private int discardedRecipients;
    /** The message last handed to its end-of-data stage or spool write (null: none yet). */
    private PendingMessage pending;
    /** The transaction began while no filter chain was bound: only bounce input (local domains) may be accepted. */
    private boolean filtersMissing;
    /** Route changes of the connect stage, the start of every transaction's route. */
    private Route connectionRoute = Route.DEFAULT;

    // TLS and authentication
    private boolean tlsActive;
    private String tlsInfo;
    private String authUser;
    private final SaslExchange sasl = new SaslExchange();
    private boolean trusted;

    // BDAT
    private boolean chunked;
    private boolean chunkLast;
    private long chunkOctets;
    private String chunkRefusal;

    SmtpSession(SmtpSettings settings, SessionServices services, SmtpFrameDecoder decoder) {
        this.settings = settings;
        this.services = services;
        this.spool = services.spool();
        this.decoder = decoder;
        this.policy = services.policy();
        this.mode = services.mode();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        clientIp = ctx.channel().remoteAddress() instanceof InetSocketAddress remote ? remote.getAddress()
                : InetAddress.getLoopbackAddress();
        lastActivity = now();
        sessionStarted = lastActivity;
        trusted = settings.mayRelay(clientIp);
        tlsActive = mode.implicitTls; // the TLS handler is already first in the pipeline
        scheduleTimeout(settings.commandTimeoutMillis());
        FilterChain chain = services.filters().get();
        if (chain != null && chain.has(FilterChain.Stage.CONNECT)) {
            // no greeting until the filters decided; the client's early input waits (the paused framer keeps it and
            // stops reading)
            SessionInfo info = sessionInfo();
            await(filter(() -> chain.connect(info)), (d, err) -> connected(decision(d, err)));
        } else {
            greet();
        }
        ctx.fireChannelActive();
    }

    private void greet() {
        ctx.writeAndFlush(buf("220 " + settings.hostname() + " ESMTP Hermod\r\n"));
    }

    /** The connect stage's decision: a reject is a 554 greeting, a defer a 421 one, and both close the connection. */
    private void connected(FilterDecision d) {
        if (d.action() == FilterDecision.Action.REJECT || d.action() == FilterDecision.Action.DEFER) {
            SmtpReply r = d.reply();
            SmtpReply greeting = new SmtpReply(d.action() == FilterDecision.Action.REJECT ? 554 : 421,
                    r.enhancedStatus(), r.lines());
            LOG.info("Connection from {} refused by a filter: {}", clientIp.getHostAddress(), r);
            services.events().append("filter-refused", clientIp, mode, null, "connect: " + r);
            closing = true;
            ctx.writeAndFlush(buf(greeting.toWire())).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (d.action() == FilterDecision.Action.HOLD || d.action() == FilterDecision.Action.DISCARD) {
            // there is no message yet to hold or drop: the connection goes on, and the operator learns of it once
            LOG.warn("Connection from {}: a connect filter answered {}, which the connect stage does not support;"
                    + " treated as continue", clientIp.getHostAddress(), d);
        }
        connectionRoute = d.route().applyTo(Route.DEFAULT);
        greet();
    }

    /** What filters may know about this session. */
    SessionInfo sessionInfo() {
        // the long form is unique (machine, process, sequence, time, random); the short one repeats within ~65k sessions
        return new SessionInfo(ctx.channel().id().asLongText(), clientIp.getHostAddress(), heloName, authUser,
                tlsActive, services.listener());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timeout != null) {
            timeout.cancel(false);
        }
        PendingMessage p = pending;
        if (p != null) {
            // closed (by the client, or by the watchdog's 421) while the message waited: the client will send it again,
            // so a filter stage that completes later must not store it, and its memory is given back now
            p.abandoned.set(true);
            p.release();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastActivity = now();
        if (closing) {
            if (msg instanceof SmtpFrameDecoder.DataEnd d && d.content() != null) {
                d.content().release();
                decoder.releaseHeld(d.held());
            }
            return;
        }
        if (msg instanceof SmtpFrameDecoder.CommandLine line) {
            if (partialSince != 0) {
                lineTimeSpent += now() - partialSince;
                partialSince = 0;
            }
            if (sasl.inProgress()) {
                authContinue(line);
            } else {
                command(line);
            }
        } else if (msg instanceof SmtpFrameDecoder.DataEnd end) {
            dataEnd(end);
        } else if (msg instanceof SmtpFrameDecoder.ChunkEnd end) {
            chunkEnd(end);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (decoder.inData()) {
            lastActivity = now(); // data progress; in command mode only a complete line counts
        } else if (partialSince == 0 && !busy && !closing && decoder.hasPartialLine()) {
            partialSince = now();
            long left = settings.commandLineBudgetMillis() - lineTimeSpent / 1_000_000;
            if (timeout != null && timeout.getDelay(TimeUnit.MILLISECONDS) > left) {
                rearm(Math.max(1, left));
            }
        }
        ctx.flush();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (e.isSuccess()) {
                SslHandler h = ctx.pipeline().get(SslHandler.class);
                javax.net.ssl.SSLSession ss = h == null ? null : h.engine().getSession();
                tlsInfo = ss == null ? "TLS" : ss.getProtocol() + " with cipher " + ss.getCipherSuite();
                LOG.debug("TLS with {}: {}", clientIp, tlsInfo);
            } else {
                LOG.info("TLS handshake with {} failed: {}", clientIp, e.cause().toString());
                closing = true;
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("SMTP session with {} failed", clientIp, cause);
        ctx.close();
    }

    // ------------------------------------------------------------------ commands

    private void command(SmtpFrameDecoder.CommandLine cl) {
        if (cl.tooLong()) {
            error("500 5.5.2 Error: command line too long");
            return;
        }
        if (cl.bareNewline()) {
            error("500 5.5.2 Error: bare <CR> or <LF> received; SMTP lines end with <CR><LF>");
            return;
        }
        String line = cl.line();
        int sp = line.indexOf(' ');
        String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
        String arg = sp < 0 ? "" : line.substring(sp + 1);
        switch (verb) {
            case "EHLO" -> helo(arg, true);
            case "HELO" -> helo(arg, false);
            case "MAIL" -> mail(arg);
            case "RCPT" -> rcpt(arg);
            case "DATA" -> data(arg);
            case "RSET" -> {
                if (!junk()) {
                    return;
                }
                if (!arg.isBlank()) {
                    error("501 5.5.4 Syntax: RSET");
                } else {
                    resetTransaction();
                    reply("250 2.0.0 Ok");
                }
            }
            case "NOOP" -> {
                if (junk()) {
                    reply("250 2.0.0 Ok");
                }
            }
            case "QUIT" -> {
                closing = true;
                ctx.writeAndFlush(buf("221 2.0.0 Bye\r\n")).addListener(ChannelFutureListener.CLOSE);
            }
            case "VRFY" -> {
                if (!junk()) {
                    return;
                }
                if (arg.isBlank()) {
                    error("501 5.5.4 Syntax: VRFY address");
                } else {
                    reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
                }
            }
            case "EXPN" -> error("502 5.5.1 Error: command not implemented");
            case "HELP" -> {
                if (junk()) {
                    reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
                }
            }
            case "STARTTLS" -> starttls(arg);
            case "AUTH" -> auth(arg);
            case "BDAT" -> bdat(arg);
            case "ETRN", "TURN" -> error("502 5.5.1 Error: command not implemented");
            case "" -> error("500 5.5.2 Error: bad syntax");
            default -> error("500 5.5.2 Error: command not recognized");
        }
    }

    /**
     * Counts commands that move no mail (NOOP, RSET, VRFY, HELP, HELO/EHLO) like Postfix's smtpd_junk_command_limit: a client
     * that only sends those is disconnected after {@value #JUNK_LIMIT}. Returns false when the session was closed.
     */
    private boolean junk() {
        if (++junk > JUNK_LIMIT) {
            closing = true;
            ctx.writeAndFlush(buf("421 4.7.0 " + settings.hostname() + " Error: too many commands without mail\r\n"))
                    .addListener(ChannelFutureListener.CLOSE);
            return false;
        }
        return true;
    }

    private void helo(String arg, boolean extended) {
        if (!junk()) {
            return;
        }
        String name = arg.trim();
        if (name.isEmpty() || name.contains(" ")) {
            error("501 5.5.4 Syntax: " + (extended ? "EHLO" : "HELO") + " hostname");
            return;
        }
        resetTransaction();
        heloName = name;
        esmtp = extended;
        if (!extended) {
            reply("250 " + settings.hostname());
            return;
        }
        reply("250-" + settings.hostname() + "\r\n"
                + "250-PIPELINING\r\n"
                + "250-SIZE " + settings.maxMessageSize() + "\r\n"
                + "250-8BITMIME\r\n"
                + "250-SMTPUTF8\r\n"
                + "250-ENHANCEDSTATUSCODES\r\n"
                + "250-DSN\r\n"
                + (settings.chunking() ? "250-CHUNKING\r\n" : "")
                + (starttlsOffered() ? "250-STARTTLS\r\n" : "")
                + (authOffered() ? "250-AUTH " + SaslExchange.MECHANISMS + "\r\n" : "")
                + "250 HELP");
    }

    private void mail(String arg) {
        if (heloName == null) {
            error("503 5.5.1 Error: send HELO/EHLO first");
            return;
        }
        if (sender != null) {
            error("503 5.5.1 Error: nested MAIL command");
            return;
        }
        if (mode.submission && !tlsActive) {
            error("530 5.7.0 Must issue a STARTTLS command first");
            return;
        }
        if (mode.submission && authUser == null) {
            error("530 5.7.0 Authentication required");
            return;
        }
        if (services.spoolHealth().refuseNewMail()) {
            reply(SPOOL_FULL);
            return;
        }
        if (overRate(ClientRates.Kind.MESSAGE, settings.maxMessagesPerIpPerMinute())) {
            reply("450 4.7.1 Error: too many messages from your address, try again later");
            return;
        }
        SmtpArguments.PathAndParams p;
        try {
            p = SmtpArguments.parse(arg, "FROM", true, "5.1.7");
        } catch (SmtpArguments.SyntaxException e) {
            error("501 " + e.enhanced + " " + e.getMessage());
            return;
        }
        if (!esmtp && !p.params().isEmpty()) {
            error("555 5.5.4 MAIL parameters are only allowed after EHLO");
            return;
        }
        long size = 0;
        boolean utf8 = false;
        for (Map.Entry<String, String> e : p.params().entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "SIZE" -> {
                    try {
                        size = Long.parseLong(v);
                        if (size < 0) {
                            throw new NumberFormatException();
                        }
                    } catch (NumberFormatException | NullPointerException ex) {
                        error("501 5.5.4 Bad SIZE parameter");
                        return;
                    }
                }
                case "BODY" -> {
                    if (v == null || !(v.equalsIgnoreCase("7BIT") || v.equalsIgnoreCase("8BITMIME"))) {
                        error("501 5.5.4 Unsupported BODY parameter (7BIT and 8BITMIME are supported)");
                        return;
                    }
                }
                case "SMTPUTF8" -> {
                    if (v != null) {
                        error("501 5.5.4 SMTPUTF8 takes no value");
                        return;
                    }
                    utf8 = true;
                }
                case "RET" -> {
                    if (v == null || !(v.equalsIgnoreCase("FULL") || v.equalsIgnoreCase("HDRS"))) {
                        error("501 5.5.4 Bad RET parameter (FULL or HDRS)");
                        return;
                    }
                }
                case "ENVID" -> {
                    try {
                        if (v == null || v.length() > 100) {
                            throw new SmtpArguments.SyntaxException("5.5.4", "Bad ENVID");
                        }
                        SmtpArguments.xtextDecode(v);
                    } catch (SmtpArguments.SyntaxException ex) {
                        error("501 5.5.4 Bad ENVID parameter");
                        return;
                    }
                }
                case "AUTH" -> {
                    // RFC 4954: accepted and ignored without AUTH
                }
                default -> {
                    error("555 5.5.4 Unsupported option: " + e.getKey());
                    return;
                }
            }
        }
        if (p.address().isInternational() && !utf8) {
            error("553 5.6.7 Must declare SMTPUTF8 to send an internationalized address");
            return;
        }
        if (size > settings.maxMessageSize()) {
            error("552 5.3.4 Message size exceeds fixed limit");
            return;
        }
        // a fresh snapshot per transaction: filters installed since the last one apply from here on
        FilterChain chain = services.filters().get();
        MailAddress from = p.address();
        Map<String, String> params = java.util.Collections.unmodifiableMap(p.params()); // filters see, never change
        long declared = size;
        if (chain == null && settings.filtersRequired()) {
            if (!from.isNullSender()) {
                LOG.info("MAIL from {} deferred: no routing filter chain is bound", clientIp.getHostAddress());
                reply(FILTERS_UNAVAILABLE);
                return;
            }
            // a null sender may be bounce input, which is never filtered: its recipients decide (see rcpt)
            beginTransaction(null, from, params, declared, FilterDecision.proceed());
            filtersMissing = true;
            return;
        }
        if (chain != null && chain.has(FilterChain.Stage.MAIL)) {
            if (settings.delayMailFilters()) {
                // the MAIL filters run with the first recipient's RCPT filters (see acceptRecipient)
                beginTransaction(chain, from, params, declared, FilterDecision.proceed());
                mailFiltersPending = true;
                return;
            }
            SessionInfo info = sessionInfo();
            await(filter(() -> chain.mail(info, from, params)),
                    (d, err) -> beginTransaction(chain, from, params, declared, decision(d, err)));
            return;
        }
        beginTransaction(chain, from, params, declared, FilterDecision.proceed());
    }

    private void beginTransaction(FilterChain chain, MailAddress from, Map<String, String> params, long size,
                                  FilterDecision d) {
        if (refusedByFilter(d)) {
            return;
        }
        transactionChain = chain;
        mailFiltered(d);
        sender = from;
        mailParams = params;
        declaredSize = size;
        reply("250 2.1.0 Ok");
    }

    /** A MAIL stage's decision that let the transaction begin: its hold, discard and route. */
    private void mailFiltered(FilterDecision d) {
        if (d.action() == FilterDecision.Action.HOLD) {
            transactionHold = d.holdReason();
        } else if (d.action() == FilterDecision.Action.DISCARD) {
            discardMessage = true;
        }
        route = d.route().applyTo(connectionRoute);
        mailRoute = route;
    }

    /** Answers a filter's reject (an error reply) or defer; false when the decision lets the command pass. */
    private boolean refusedByFilter(FilterDecision d) {
        if (d.action() == FilterDecision.Action.REJECT) {
            error(line(d.reply()));
            return true;
        }
        if (d.action() == FilterDecision.Action.DEFER) {
            reply(line(d.reply()));
            return true;
        }
        return false;
    }

    /** A reply as {@link #reply} takes it: on the wire, without the final CRLF. */
    private static String line(SmtpReply r) {
        String w = r.toWire();
        return w.substring(0, w.length() - 2);
    }

    private void rcpt(String arg) {
        if (sender == null) {
            error("503 5.5.1 Error: need MAIL command");
            return;
        }
        // RFC 5321 4.5.1: "postmaster" without a domain must be accepted, from anyone
        java.util.regex.Matcher pm = POSTMASTER.matcher(arg);
        boolean toPostmaster = pm.matches();
        if (toPostmaster) {
            arg = "TO:<" + settings.postmaster() + ">" + (pm.group(1) == null ? "" : pm.group(1));
        }
        SmtpArguments.PathAndParams p;
        try {
            p = SmtpArguments.parse(arg, "TO", false, "5.1.3");
        } catch (SmtpArguments.SyntaxException e) {
            error("501 " + e.enhanced + " " + e.getMessage());
            return;
        }
        if (!esmtp && !p.params().isEmpty()) {
            error("555 5.5.4 RCPT parameters are only allowed after EHLO");
            return;
        }
        if (p.address().localPart().getBytes(StandardCharsets.UTF_8).length > MAX_LOCAL_PART) {
            error("501 5.1.3 Bad recipient address syntax: local part longer than " + MAX_LOCAL_PART + " octets");
            return;
        }
        Set<Recipient.Notify> notify = EnumSet.noneOf(Recipient.Notify.class);
        String orcpt = null;
        for (Map.Entry<String, String> e : p.params().entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "NOTIFY" -> {
                    if (v == null) {
                        error("501 5.5.4 Bad NOTIFY parameter");
                        return;
                    }
                    for (String n : v.split(",")) {
                        try {
                            notify.add(Recipient.Notify.valueOf(n.trim().toUpperCase(Locale.ROOT)));
                        } catch (IllegalArgumentException ex) {
                            error("501 5.5.4 Bad NOTIFY parameter");
                            return;
                        }
                    }
                    if (notify.contains(Recipient.Notify.NEVER) && notify.size() > 1) {
                        error("501 5.5.4 NOTIFY=NEVER cannot be combined with other values");
                        return;
                    }
                }
                case "ORCPT" -> {
                    int semi = v == null ? -1 : v.indexOf(';');
                    if (semi <= 0) {
                        error("501 5.5.4 Bad ORCPT parameter");
                        return;
                    }
                    try {
                        orcpt = v.substring(0, semi) + ";" + SmtpArguments.xtextDecode(v.substring(semi + 1));
                    } catch (SmtpArguments.SyntaxException ex) {
                        error("501 5.5.4 Bad ORCPT parameter");
                        return;
                    }
                }
                default -> {
                    error("555 5.5.4 Unsupported option: " + e.getKey());
                    return;
                }
            }
        }
        MailAddress to = p.address();
        if (to.isInternational() && !mailParams.containsKey("SMTPUTF8")) {
            error("553 5.6.7 Must declare SMTPUTF8 to send an internationalized address");
            return;
        }
        if (filtersMissing && !policy.isLocalDomain(to.domain())) {
            reply(FILTERS_UNAVAILABLE);
            return;
        }
        if (recipients.size() >= settings.maxRecipients()) {
            reply("452 4.5.3 Error: too many recipients");
            return;
        }
        boolean relayDomain = settings.isRelayDomain(to.domain());
        if (!toPostmaster && !trusted && authUser == null) {
            if (!relayDomain && !policy.isLocalDomain(to.domain())) {
                error("554 5.7.1 <" + to + ">: Relay access denied");
                return;
            }
            if (senderRouted(to.localPart())) {
                // user%other@relay, host!user@relay, "user@other"@relay: never relay onwards for untrusted clients
                error("550 5.7.1 <" + to + ">: Relay access denied (sender-specified routing)");
                return;
            }
        }
        if (mailRefusal != null) {
            // the delayed MAIL filters refused this transaction: no recipient table, directory or callout is asked
            // for it (a refused sender learns nothing about who exists), and the refusal counted as one error
            reply(line(mailRefusal.reply()));
            return;
        }
        // a relay domain's recipients come from the LDAP directory when it serves the domain, else from the map
        boolean inDirectory = relayDomain && services.directory() != null && services.directory().serves(to.domain());
        if (relayDomain && !inDirectory && services.recipients() != null
                && !services.recipients().accepts(to, settings.recipientDelimiter())) {
            error("550 5.1.1 <" + to + ">: Recipient address rejected: User unknown in relay recipient table");
            return;
        }
        if (overRate(ClientRates.Kind.RECIPIENT, settings.maxRecipientsPerIpPerMinute())) {
            reply("450 4.7.1 <" + to + ">: too many recipients from your address, try again later");
            return;
        }
        String refusal = settings.refuseSuppressed() ? policy.refusal(to) : null;
        if (refusal != null) {
            error(refusal);
            return;
        }
        Recipient r = new Recipient(to, notify, orcpt);
        if (inDirectory) {
            // ask the directory off the event loop; input waits, as it does while a message is stored
            await(services.directory().lookup(to, settings.recipientDelimiter()),
                    (verdict, err) -> lookedUp(r, verdict));
            return;
        }
        RecipientVerifier v = services.verifier();
        if (v != null && relayDomain && !trusted && authUser == null
                && (services.recipients() == null || !services.recipients().covers(to.domain()))) {
            // ask the next hop; input waits, as it does while a message is stored
            await(v.verify(to), (verdict, err) -> verifiedRecipient(r, verdict));
            return;
        }
        acceptRecipient(r);
    }

    /** The LDAP directory's answer: unknown users are refused now (no backscatter), an unreachable directory defers. */
    private void lookedUp(Recipient r, RecipientVerifier.Verdict v) {
        RecipientVerifier.Result result = v == null ? RecipientVerifier.Result.TRY_LATER : v.result();
        switch (result) {
            case VALID -> acceptRecipient(r);
            case UNKNOWN_USER -> error("550 5.1.1 " + r.address().toSmtpPath()
                    + ": Recipient address rejected: User unknown in relay recipient table");
            default -> reply("451 4.4.3 " + r.address().toSmtpPath()
                    + ": Recipient address rejected: recipient directory not available, try again later");
        }
    }

    private void verifiedRecipient(Recipient r, RecipientVerifier.Verdict v) {
        RecipientVerifier.Result result = v == null ? RecipientVerifier.Result.TRY_LATER : v.result();
        String why = v == null ? "verification failed" : v.reply();
        switch (result) {
            case VALID -> acceptRecipient(r);
            case UNKNOWN_USER -> error("550 5.1.1 " + r.address().toSmtpPath()
                    + ": Recipient address rejected: undeliverable address: " + why);
            default -> reply("450 4.1.1 " + r.address().toSmtpPath()
                    + ": Recipient address rejected: unverified address: " + why);
        }
    }

    /** A recipient that passed Hermod's own checks: the transaction's RCPT filters have the last word. */
    private void acceptRecipient(Recipient r) {
        FilterChain chain = transactionChain;
        if (chain != null && mailFiltersPending) {
            SessionInfo info = sessionInfo();
            MailAddress from = sender;
            Map<String, String> params = mailParams;
            await(filter(() -> chain.mailAndRcpt(info, from, params, r)), (d, err) -> {
                mailFiltersPending = false;
                FilterDecision m = decision(d == null ? null : d.mail(), err);
                if (m.action() == FilterDecision.Action.REJECT || m.action() == FilterDecision.Action.DEFER) {
                    mailRefusal = m;
                    refusedByFilter(m);
                    return;
                }
                mailFiltered(m);
                rcptFiltered(r, decision(d.rcpt(), null));
            });
            return;
        }
        if (chain != null && chain.has(FilterChain.Stage.RCPT)) {
            SessionInfo info = sessionInfo();
            MailAddress from = sender;
            await(filter(() -> chain.rcpt(info, from, r)), (d, err) -> rcptFiltered(r, decision(d, err)));
            return;
        }
        recipients.add(r);
        reply("250 2.1.5 Ok");
    }

    private void rcptFiltered(Recipient r, FilterDecision d) {
        if (refusedByFilter(d)) {
            return;
        }
        if (d.action() == FilterDecision.Action.DISCARD) {
            // the client sees an ordinary acceptance; the recipient is not added (Postfix's DISCARD, per recipient)
            LOG.info("Recipient {} from {} discarded by a filter", r.address(), clientIp.getHostAddress());
            services.events().append("filter-discarded", clientIp, mode, authUser, "rcpt " + r.address());
            discardedRecipients++;
            reply("250 2.1.5 Ok");
            return;
        }
        Recipient out = r;
        MailAddress to = d.rewrittenRecipient();
        if (to != null) {
            String refusal = rewriteRefusal(to, mailParams.containsKey("SMTPUTF8"), trusted || authUser != null);
            if (refusal != null) {
                LOG.info("Rewrite of {} to {} by a filter refused: {}", r.address(), to, refusal);
                error(refusal);
                return;
            }
            if (recipients.stream().anyMatch(x -> x.address().equals(to))) {
                reply("250 2.1.5 Ok"); // a duplicate, as RCPT of an address already given: delivered once
                return;
            }
            // the DSN parameters stay; without an ORCPT the original address becomes one (RFC 3461 4.2), so that
            // notices still name the address the client gave
            out = new Recipient(to, r.notifyOn(), r.orcpt() != null ? r.orcpt() : "rfc822;" + r.address());
        }
        if (!sameDestination(d.route().applyTo(mailRoute))) {
            // one message has one route: a recipient routed elsewhere than those accepted so far must come again in
            // a transaction of its own, as with too many recipients (RFC 5321 4.5.3.1.10)
            reply("452 4.5.3 Error: recipient needs another route; send it in a new transaction");
            return;
        }
        route = d.route().applyTo(route);
        if (d.action() == FilterDecision.Action.HOLD && transactionHold == null) {
            transactionHold = d.holdReason();
        }
        recipients.add(out);
        reply("250 2.1.5 Ok");
    }

    /**
     * Hermod's own checks on an address a filter put in place of one the client gave (a RCPT rewrite, or end-of-data
     * recipients): the reply line the check would have given the client for that address at RCPT, or null when it
     * passes. {@code mayRelay}: the client is in mynetworks or authenticated.
     */
    private String rewriteRefusal(MailAddress to, boolean utf8, boolean mayRelay) {
        if (to.isInternational() && !utf8) {
            return "553 5.6.7 Must declare SMTPUTF8 to send an internationalized address";
        }
        if (to.localPart().getBytes(StandardCharsets.UTF_8).length > MAX_LOCAL_PART) {
            return "501 5.1.3 Bad recipient address syntax: local part longer than " + MAX_LOCAL_PART + " octets";
        }
        if (!mayRelay && !settings.isRelayDomain(to.domain()) && !policy.isLocalDomain(to.domain())) {
            return "554 5.7.1 <" + to + ">: Relay access denied";
        }
        return settings.refuseSuppressed() ? policy.refusal(to) : null;
    }

    /**
     * The end-of-data filters' recipients checked as {@link #rewriteRefusal} checks a rewrite: a recipient the client
     * did not give that fails refuses the message with that check's reply; duplicates are removed.
     */
    private Object checkedRecipients(Envelope given, Envelope changed, boolean mayRelay) {
        List<Recipient> out = new ArrayList<>();
        Set<MailAddress> seen = new java.util.HashSet<>();
        Set<MailAddress> original = new java.util.HashSet<>();
        given.recipients().forEach(x -> original.add(x.address()));
        for (Recipient x : changed.recipients()) {
            if (!original.contains(x.address())) {
                String refusal = rewriteRefusal(x.address(), given.smtpUtf8(), mayRelay);
                if (refusal != null) {
                    LOG.info("Recipient {} set by an end-of-data filter refused: {}", x.address(), refusal);
                    return refusal;
                }
            }
            if (seen.add(x.address())) {
                out.add(x);
            }
        }
        return out.size() == changed.recipients().size() ? changed : changed.withRecipients(out);
    }

    /**
     * True when a recipient whose own route is {@code own} may join the transaction: no recipient was accepted yet, or
     * it goes through the same pool and smarthost as the accepted ones (tenant, campaign, tags and priority merge).
     */
    private boolean sameDestination(Route own) {
        return recipients.isEmpty() || (java.util.Objects.equals(own.pool(), route.pool())
                && java.util.Objects.equals(own.smarthost(), route.smarthost()));
    }

    private void data(String arg) {
        if (!arg.isBlank()) {
            error("501 5.5.4 Syntax: DATA");
            return;
        }
        if (sender == null) {
            error("503 5.5.1 Error: need MAIL command");
            return;
        }
        if (recipients.isEmpty() && discardedRecipients == 0) {
            error("554 5.5.1 Error: no valid recipients");
            return;
        }
        if (chunked) {
            error("503 5.5.1 Error: DATA in a BDAT transaction");
            return;
        }
        reply("354 End data with <CR><LF>.<CR><LF>");
        // start small whatever SIZE says (a client's claim must not reserve memory); the buffer grows with the data
        decoder.startData(ctx, settings.maxMessageSize(), (int) Math.min(Math.max(declaredSize, 4096), 64 * 1024));
        rescheduleTimeout();
        dataStarted = now();
        rearm(settings.dataTimeoutMillis());
    }

    /** Refuses a message that broke a rule; false when there was nothing to refuse. */
    private boolean refused(SmtpFrameDecoder.Violation v) {
        switch (v) {
            case TOO_BIG -> {
                resetTransaction();
                error("552 5.3.4 Error: message file too big");
            }
            case BARE_NEWLINE -> {
                resetTransaction();
                error("554 5.5.2 Error: message contains bare <CR> or <LF>; lines must end with <CR><LF>");
            }
            case NO_MEMORY -> {
                resetTransaction();
                reply("452 4.3.1 Error: insufficient system resources for this message now, try again later");
            }
            case LINE_TOO_LONG -> {
                resetTransaction();
                error("554 5.6.0 Error: message line longer than 998 characters");
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    private void dataEnd(SmtpFrameDecoder.DataEnd end) {
        rescheduleTimeout();
        if (refused(end.violation())) {
            return;
        }
        // the message's memory stays counted against the shared budget until it is stored (or refused or dropped)
        long held = end.held();
        boolean handedOver = false;
        try {
            handedOver = dataComplete(end.content(), held);
        } finally {
            if (!handedOver) {
                decoder.releaseHeld(held);
            }
        }
    }

    /** Stores (or filters, or processes as bounce input) a complete message; true once its budget release is set. */
    private boolean dataComplete(ByteBuf body, long held) {
        if (discardMessage || recipients.isEmpty()) {
            // discarded at MAIL, or every recipient was: read like any message, answered like one, stored nowhere
            body.release();
            String id = spool.newQueueId();
            LOG.info("{}: discarded by a filter before end of data (from {}, sender <{}>)", id,
                    clientIp.getHostAddress(), sender);
            services.events().append("filter-discarded", clientIp, mode, authUser, id);
            resetTransaction();
            junk = 0;
            lineTimeSpent = 0;
            reply("250 2.0.0 Ok: queued as " + id);
            return false;
        }
        byte[] content;
        String id;
        try {
            id = spool.newQueueId();
            content = TraceHeaders.prepend(body, id, settings.hostname(), new TraceHeaders.Origin(heloName, clientIp,
                    esmtp, mailParams.containsKey("SMTPUTF8"), tlsActive ? (tlsInfo == null ? "TLS" : tlsInfo) : null,
                    authUser, settings.authUserInReceived()),
                    recipients.size() == 1 ? recipients.get(0).address().toSmtpPath() : null);
        } finally {
            body.release();
        }
        Envelope env = new Envelope(sender, recipients, ret(), envId(), body8bit() ? Envelope.BodyType.EIGHT_BIT_MIME
                : Envelope.BodyType.SEVEN_BIT, mailParams.containsKey("SMTPUTF8"), heloName, clientIp.getHostAddress(), null);
        FilterChain chain = transactionChain;
        Route decided = route;
        String hold = transactionHold;
        boolean mayRelay = trusted || authUser != null;
        resetTransaction();
        junk = 0;
        lineTimeSpent = 0;
        PendingMessage msg = new PendingMessage(decoder, held);
        pending = msg;
        CompletionStage<String> result;
        if (policy.isBounceInput(env)) {
            result = policy.acceptBounce(env, content);
        } else if (chain != null && chain.has(FilterChain.Stage.DATA)) {
            SessionInfo info = sessionInfo();
            // the decision is acted on where the stage completes (a filter thread): the spool write starts from
            // there, and the event loop is woken once, for the reply, not also in between. What runs there reads
            // only what this transaction fixed above, the settings and thread-safe services
            result = filter(() -> chain.data(info, env, decided, content))
                    .handle((o, err) -> {
                        if (err != null) {
                            LOG.error("The end-of-data filter stage failed", err);
                        }
                        return err != null ? null : o;
                    })
                    .thenCompose(o -> {
                        if (msg.abandoned.get()) {
                            LOG.info("{}: not stored: the session closed while its end-of-data filters ran", id);
                            return CompletableFuture.completedFuture("421 4.3.0 session closed");
                        }
                        return filtered(id, env, decided, hold, mayRelay, content, o);
                    });
        } else {
            result = store(id, env, decided, hold, content);
        }
        result.whenComplete((r, err) -> msg.release());
        await(result, this::stored);
        return true;
    }

    /** A message between end of data and its reply: its memory reservation, given back exactly once, and whether the
     *  session closed meanwhile. */
    private static final class PendingMessage {
        final java.util.concurrent.atomic.AtomicBoolean abandoned = new java.util.concurrent.atomic.AtomicBoolean();
        private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        private final SmtpFrameDecoder decoder;
        private final long held;

        PendingMessage(SmtpFrameDecoder decoder, long held) {
            this.decoder = decoder;
            this.held = held;
        }

        void release() {
            if (released.compareAndSet(false, true)) {
                decoder.releaseHeld(held);
            }
        }
    }

    /** Acts on the end-of-data decision: refuse, drop, hold or store the message as the filters changed it. */
    private CompletionStage<String> filtered(String id, Envelope env, Route decided, String hold, boolean mayRelay,
                                             byte[] content, FilterChain.DataOutcome o) {
        FilterDecision d = o == null || o.decision() == null ? FILTER_FAILED : o.decision();
        switch (d.action()) {
            case REJECT, DEFER -> {
                LOG.info("Message from {} refused by a filter: {}", clientIp.getHostAddress(), d.reply());
                return CompletableFuture.completedFuture(line(d.reply()));
            }
            case DISCARD -> {
                // like Postfix's DISCARD: the client sees an ordinary acceptance; only the log tells
                LOG.info("{}: discarded by a filter (from {}, sender <{}>)", id, clientIp.getHostAddress(), env.sender());
                services.events().append("filter-discarded", clientIp, mode, authUser, id);
                return CompletableFuture.completedFuture("250 2.0.0 Ok: queued as " + id);
            }
            default -> {
                Envelope e = env;
                if (o.envelope() != null) {
                    Object checked = checkedRecipients(env, o.envelope(), mayRelay);
                    if (checked instanceof String refusal) {
                        return CompletableFuture.completedFuture(refusal);
                    }
                    e = (Envelope) checked;
                }
                Route r = o.route() == null ? decided : o.route();
                byte[] c = o.content() == null ? content : o.content();
                return store(id, e, r, d.action() == FilterDecision.Action.HOLD ? d.holdReason() : hold, c);
            }
        }
    }

    private CompletionStage<String> store(String id, Envelope env, Route r, String holdReason, byte[] content) {
        CompletableFuture<String> f = r.isDefault() && holdReason == null ? spool.store(id, env, content)
                : spool.store(id, env, r, holdReason, content);
        return f.thenApply(qid -> {
            services.spoolHealth().stored();
            return "250 2.0.0 Ok: queued as " + qid;
        });
    }

    private void stored(String replyLine, Throwable err) {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (cause instanceof SpoolFullException) {
            LOG.warn("Refusing a message from {}: {}", clientIp.getHostAddress(), cause.getMessage());
            services.spoolHealth().full();
            reply(SPOOL_FULL);
        } else if (err != null) {
            LOG.error("Could not spool a message from {}", clientIp, err);
            reply("451 4.3.0 Error: queue file write error");
        } else {
            if (authUser != null) {
                LOG.info("{} from {} (authenticated user {})", replyLine, clientIp.getHostAddress(), authUser);
            }
            reply(replyLine);
        }
    }

    /**
     * Waits for an asynchronous step (spool write, filter stage, credential check, recipient lookup) without blocking
     * the event loop: input is paused meanwhile, so pipelined commands wait their turn, and the session's timeouts do
     * not run against the client (the step has its own time budget). {@code then} runs on the channel's executor;
     * reading resumes after it unless it started another step. Reading from the socket stops only if input arrives
     * meanwhile (the paused framer does that), not for every step.
     */
    private <T> void await(CompletionStage<T> step, BiConsumer<T, Throwable> then) {
        busy = true;
        busySince = now();
        decoder.pause();
        step.whenComplete((v, err) -> ctx.executor().execute(() -> {
            busy = false;
            if (!ctx.channel().isActive()) {
                return;
            }
            rescheduleTimeout(); // the wait was ours, not the client's
            then.accept(v, err);
            if (!busy && !closing) {
                resumeReading();
            }
        }));
    }

    /** Calls a filter stage; a chain that throws or returns nothing yields a failed stage, never an accept. */
    private static <T> CompletionStage<T> filter(java.util.function.Supplier<CompletionStage<T>> call) {
        try {
            CompletionStage<T> s = call.get();
            return s != null ? s : CompletableFuture.failedFuture(new IllegalStateException("no stage"));
        } catch (RuntimeException | LinkageError | StackOverflowError e) {
            LOG.error("The filter chain failed", e);
            return CompletableFuture.failedFuture(e);
        }
    }

    /** A stage's decision, with a failed stage as a defer. */
    private static FilterDecision decision(FilterDecision d, Throwable err) {
        if (err != null || d == null) {
            if (err != null) {
                LOG.error("A filter stage failed", err);
            }
            return FILTER_FAILED;
        }
        return d;
    }

    /** Continues with input that waited for an asynchronous step (spool write, credential check). */
    private void resumeReading() {
        decoder.resume();
        if (decoder.buffered() > 0) {
            // decode whatever the client pipelined meanwhile: the framer holds it. The empty read must reach the
            // framer itself: sent from the pipeline's head it would stop in the TLS handler, which passes nothing on
            // for no bytes, and a pipelining client would wait for replies that never come.
            io.netty.channel.ChannelPipeline p = ctx.channel().pipeline();
            io.netty.channel.ChannelHandlerContext before = p.context(SmtpServer.TLS);
            if (before == null) {
                before = p.context(SmtpServer.LIMITER);
            }
            if (before != null) {
                before.fireChannelRead(Unpooled.EMPTY_BUFFER);
            } else {
                p.fireChannelRead(Unpooled.EMPTY_BUFFER);
            }
        }
        // reading stopped if input arrived during the step; it goes on once no step is under way (a step the held
        // input started keeps it stopped) and the client reads its replies
        io.netty.channel.ChannelConfig config = ctx.channel().config();
        if (!busy && !closing && !config.isAutoRead() && ctx.channel().isWritable()) {
            config.setAutoRead(true);
        }
        ctx.flush(); // the step's reply and those of the commands it held back: one write
    }

    private Envelope.Ret ret() {
        String r = mailParams.get("RET");
        return r == null ? null : Envelope.Ret.valueOf(r.toUpperCase(Locale.ROOT));
    }

    private String envId() {
        String v = mailParams.get("ENVID");
        try {
            return v == null ? null : SmtpArguments.xtextDecode(v);
        } catch (SmtpArguments.SyntaxException e) {
            return null;
        }
    }

    private boolean body8bit() {
        String b = mailParams.get("BODY");
        return b != null && b.equalsIgnoreCase("8BITMIME");
    }

    private void resetTransaction() {
        if (chunked) {
            decoder.abortMessage();
            chunked = false;
        }
        sender = null;
        mailParams = null;
        recipients.clear();
        declaredSize = 0;
        transactionChain = null;
        route = Route.DEFAULT;
        mailRoute = Route.DEFAULT;
        filtersMissing = false;
        transactionHold = null;
        discardMessage = false;
        discardedRecipients = 0;
        mailFiltersPending = false;
        mailRefusal = null;
    }

    // ------------------------------------------------------------------ STARTTLS (RFC 3207)

    private boolean starttlsOffered() {
        return !tlsActive && !mode.implicitTls && services.tls() != null && services.tls().available()
                && (mode.submission || settings.starttls());
    }

    private void starttls(String arg) {
        if (tlsActive) {
            error("503 5.5.1 Error: TLS already active");
            return;
        }
        if (!starttlsOffered()) {
            error("502 5.5.1 Error: command not implemented");
            return;
        }
        if (!arg.isBlank()) {
            error("501 5.5.4 Syntax: STARTTLS");
            return;
        }
        if (sender != null) {
            error("503 5.5.1 Error: MAIL transaction in progress");
            return;
        }
        SslHandler tls = services.tls().newHandler(ctx.alloc());
        if (tls == null) {
            reply("454 4.7.0 TLS not available due to local problem");
            return;
        }
        ctx.writeAndFlush(buf("220 2.0.0 Ready to start TLS\r\n"));
        // CVE-2011-0411: nothing the client sent in plain text after STARTTLS may be taken as a command after the
        // handshake, and the session starts over (RFC 3207 4.2: forget everything learnt before TLS)
        int dropped = decoder.discardBuffered();
        if (dropped > 0) {
            LOG.info("STARTTLS from {}: discarded {} octets pipelined before the TLS handshake", clientIp, dropped);
            services.events().append("starttls-discarded", clientIp, mode, null, dropped + " octets");
        }
        ctx.pipeline().addBefore(ctx.pipeline().context(decoder).name(), "tls", tls);
        partialSince = 0;
        tlsActive = true;
        heloName = null;
        esmtp = false;
        resetTransaction();
    }

    // ------------------------------------------------------------------ AUTH (RFC 4954: PLAIN, LOGIN)

    private boolean authOffered() {
        return mode.submission && tlsActive && authUser == null && services.auth() != null;
    }

    private void auth(String arg) {
        if (!mode.submission || services.auth() == null) {
            error("502 5.5.1 Error: authentication not enabled");
            return;
        }
        if (heloName == null || !esmtp) {
            error("503 5.5.1 Error: send EHLO first");
            return;
        }
        if (!tlsActive) {
            error("538 5.7.11 Encryption required for requested authentication mechanism");
            return;
        }
        if (authUser != null) {
            error("503 5.5.1 Error: already authenticated");
            return;
        }
        if (sender != null) {
            error("503 5.5.1 Error: MAIL transaction in progress");
            return;
        }
        if (authBlocked()) {
            services.events().append("auth-refused", clientIp, mode, null, "too many failed authentications");
            error("454 4.7.0 Error: too many failed authentications from your address, try again later");
            return;
        }
        authStep(sasl.start(arg));
    }

    private void authContinue(SmtpFrameDecoder.CommandLine cl) {
        if (cl.tooLong() || cl.bareNewline()) {
            sasl.abort();
            error("501 5.5.2 Error: cannot decode response");
            return;
        }
        authStep(sasl.next(cl.line()));
    }

    private void authStep(SaslExchange.Step step) {
        if (step instanceof SaslExchange.Challenge c) {
            reply(c.line());
        } else if (step instanceof SaslExchange.Failure f) {
            error(f.reply());
        } else if (step instanceof SaslExchange.Credentials cr) {
            verify(cr.user(), cr.password());
        }
    }

    /** Checks the credentials off the event loop; input waits meanwhile, as it does while a message is stored. */
    private void verify(String user, char[] password) {
        await(services.auth().check(user, password), (ok, err) -> verified(user, Boolean.TRUE.equals(ok)));
    }

    private void verified(String user, boolean ok) {
        if (ok) {
            authUser = user;
            LOG.info("AUTH: {} authenticated from {}", TraceHeaders.printable(user), clientIp.getHostAddress());
            services.events().append("auth", clientIp, mode, TraceHeaders.printable(user), tlsInfo);
            reply("235 2.7.0 Authentication successful");
        } else {
            services.rates().add(clientIp, ClientRates.Kind.AUTH_FAILURE, settings.authFailureWindowMillis() * 1_000_000L,
                    now());
            LOG.warn("AUTH: failed authentication as {} from {}", TraceHeaders.printable(user), clientIp.getHostAddress());
            services.events().append("auth-failed", clientIp, mode, TraceHeaders.printable(user), null);
            error("535 5.7.8 Error: authentication failed");
        }
    }

    private boolean authBlocked() {
        int max = settings.maxAuthFailuresPerIp();
        return max > 0 && services.rates().count(clientIp, ClientRates.Kind.AUTH_FAILURE,
                settings.authFailureWindowMillis() * 1_000_000L, now()) >= max;
    }

    /** Counts one event for this client; true when that takes it over the per-minute limit (mynetworks: never). */
    private boolean overRate(ClientRates.Kind kind, int perMinute) {
        return perMinute > 0 && !trusted
                && services.rates().add(clientIp, kind, TimeUnit.MINUTES.toNanos(1), now()) > perMinute;
    }

    /** A local part that routes onwards: %-hack, bang path, or an @ (only possible quoted). */
    static boolean senderRouted(String localPart) {
        return localPart.indexOf('@') >= 0 || localPart.indexOf('%') >= 0 || localPart.indexOf('!') >= 0;
    }

    // ------------------------------------------------------------------ BDAT (RFC 3030)

    private void bdat(String arg) {
        String[] a = arg.trim().split(" +");
        long octets = -1;
        boolean last = false;
        if (a.length >= 1 && a.length <= 2 && a[0].matches("[0-9]{1,18}")
                && (a.length == 1 || a[1].equalsIgnoreCase("LAST"))) {
            octets = Long.parseLong(a[0]);
            last = a.length == 2;
        }
        if (octets < 0) {
            // without a valid count the chunk's end cannot be found: its bytes must not be read as commands
            closing = true;
            ctx.write(buf("501 5.5.4 Syntax: BDAT count [LAST]\r\n"));
            ctx.writeAndFlush(buf("421 4.7.0 " + settings.hostname() + " Error: closing after a bad BDAT\r\n"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        String refusal = null;
        if (!settings.chunking()) {
            refusal = "502 5.5.1 Error: command not implemented";
        } else if (heloName == null || !esmtp) {
            refusal = "503 5.5.1 Error: send EHLO first";
        } else if (sender == null) {
            refusal = "503 5.5.1 Error: need MAIL command";
        } else if (recipients.isEmpty() && discardedRecipients == 0) {
            refusal = "554 5.5.1 Error: no valid recipients";
        }
        boolean first = refusal == null && !chunked;
        chunkRefusal = refusal;
        chunkLast = last;
        chunkOctets = octets;
        if (refusal == null) {
            chunked = true;
        }
        if (first) {
            dataStarted = now();
        }
        rescheduleTimeout();
        SmtpFrameDecoder.ChunkEnd done = decoder.startChunk(ctx, octets, refusal == null, first,
                settings.maxMessageSize(), (int) Math.min(Math.max(declaredSize, octets), 64 * 1024));
        if (done != null) {
            chunkEnd(done);
        }
        // never push the pending check further out: a client starting a chunk every few minutes must still meet the
        // transaction's data rate, which counts from the first chunk
        if (!closing && (timeout == null || timeout.getDelay(TimeUnit.MILLISECONDS) > settings.dataTimeoutMillis())) {
            rearm(settings.dataTimeoutMillis());
        }
    }

    private void chunkEnd(SmtpFrameDecoder.ChunkEnd end) {
        rescheduleTimeout();
        if (chunkRefusal != null) {
            error(chunkRefusal);
            return;
        }
        if (end.violation() != SmtpFrameDecoder.Violation.NONE) {
            refused(end.violation()); // resets the transaction, which drops the message
            return;
        }
        if (!chunkLast) {
            reply("250 2.0.0 " + chunkOctets + " octets received");
            return;
        }
        chunked = false;
        dataEnd(decoder.endChunks());
    }


    // ------------------------------------------------------------------ replies, errors, timeouts

    private void reply(String text) {
        ctx.write(buf(text + "\r\n"));
        if (!ctx.channel().isWritable()) {
            // the client does not read its replies: stop reading its commands until it does
            ctx.flush();
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && !busy && !closing) {
            ctx.channel().config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** An error reply: counts towards the session's error limit. */
    private void error(String text) {
        errors++;
        if (overRate(ClientRates.Kind.ERROR, settings.maxErrorsPerIpPerMinute())) {
            services.events().append("closed", clientIp, mode, null, "too many errors from this address");
            ctx.write(buf(text + "\r\n"));
            closing = true;
            ctx.writeAndFlush(buf("421 4.7.0 " + settings.hostname() + " Error: too many errors from your address\r\n"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (errors >= settings.maxErrors()) {
            ctx.write(buf(text + "\r\n"));
            closing = true;
            ctx.writeAndFlush(buf("421 4.7.0 " + settings.hostname() + " Error: too many errors\r\n"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        reply(text);
    }

    /** The event loop's clock (tests drive it with EmbeddedChannel.advanceTimeBy). */
    private long now() {
        return ctx.executor().ticker().nanoTime();
    }

    private ByteBuf buf(String s) {
        return ByteBufUtil.writeUtf8(ctx.alloc(), s);
    }

    private void scheduleTimeout(long millis) {
        timeout = ctx.executor().schedule(this::checkTimeout, millis, TimeUnit.MILLISECONDS);
    }

    /** Replaces the pending timeout check by one after {@code millis}. */
    private void rearm(long millis) {
        if (timeout != null) {
            timeout.cancel(false);
        }
        scheduleTimeout(millis);
    }

    private void rescheduleTimeout() {
        lastActivity = now();
    }

    /**
     * Four clocks: the RFC 5321 idle timeouts (since the last complete command, or the last data received); the time
     * a client may spend on unfinished command lines per transaction (a client dripping a byte every few seconds);
     * in DATA and in a whole BDAT transaction (between chunks too) a minimum transfer rate (the data timeout plus one
     * second per {@code minDataRate} octets since the transfer's first octet was announced, like Postfix's
     * smtpd_min_data_rate); and the session's lifetime ({@code maxSessionSeconds}).
     */
    private void checkTimeout() {
        if (!ctx.channel().isActive() || closing) {
            return;
        }
        long now = now();
        boolean data = decoder.inData();
        long limit = data ? settings.dataTimeoutMillis() : settings.commandTimeoutMillis();
        long idle = (now - lastActivity) / 1_000_000;
        if (busy) {
            // waiting for our own disk, a filter or a lookup, not for the client: each has its own time budget. Only a
            // step that never ends (a bug) is cut off, after twice the command timeout, so the session cannot leak
            long left = 2 * settings.commandTimeoutMillis() - (now - busySince) / 1_000_000;
            if (left > 0) {
                scheduleTimeout(Math.min(limit, left));
                return;
            }
            closing = true;
            LOG.error("Closing SMTP session with {}: an asynchronous step did not complete in {} ms", clientIp,
                    2 * settings.commandTimeoutMillis());
            services.events().append("closed", clientIp, mode, null, "local processing did not complete");
            ctx.writeAndFlush(buf("421 4.3.0 " + settings.hostname() + " Error: local processing did not complete,"
                    + " try again later\r\n")).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        long next = limit - idle;
        String why = idle >= limit ? "timeout exceeded" : null;
        if (!data && partialSince != 0) {
            long left = settings.commandLineBudgetMillis() - (lineTimeSpent + now - partialSince) / 1_000_000;
            if (left <= 0) {
                why = "command lines too slow";
            }
            next = Math.min(next, left);
        }
        if ((data || chunked) && settings.minDataRate() > 0) {
            long allowed = settings.dataTimeoutMillis() + decoder.dataBytes() * 1000 / settings.minDataRate();
            long left = allowed - (now - dataStarted) / 1_000_000;
            if (left <= 0) {
                why = "data transfer too slow";
            }
            next = Math.min(next, Math.max(left, 1000));
        }
        if (settings.maxSessionMillis() > 0) {
            long left = settings.maxSessionMillis() - (now - sessionStarted) / 1_000_000;
            if (left <= 0) {
                why = "session lasted too long";
            }
            next = Math.min(next, left);
        }
        if (why != null) {
            closing = true;
            LOG.info("Closing SMTP session with {}: {}", clientIp, why);
            services.events().append("closed", clientIp, mode, null, why);
            ctx.writeAndFlush(buf("421 4.4.2 " + settings.hostname() + " Error: " + why + "\r\n"))
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            scheduleTimeout(Math.max(1, next));
        }
    }
}
