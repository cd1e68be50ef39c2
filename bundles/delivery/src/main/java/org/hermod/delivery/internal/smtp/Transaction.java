package org.hermod.delivery.internal.smtp;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.SmtpReply;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.spool.RecipientResult;

/**
 * One mail transaction (MAIL, RCPT..., DATA, content) on an open connection, pipelined when the peer offers
 * PIPELINING. Every recipient gets its own outcome: a refused RCPT does not fail the others.
 *
 * <p>Decisions: a SIZE the peer announced and the message exceeds fails permanently (5.3.4) without sending; an
 * internationalised recipient at a peer without SMTPUTF8 fails permanently (5.6.7) on its own while the other recipients
 * of the transaction are sent without SMTPUTF8 (an internationalised MAIL FROM fails them all); 8-bit content to a peer without
 * 8BITMIME is sent anyway (as most MTAs do, without BODY=) unless {@code strict8BitMime}, then it fails with 5.6.3.
 */
public final class Transaction {

    /**
     * What the transaction needs to know about the message.
     *
     * @param stuffed the DATA stream made once for the whole delivery ({@link #stuffed}), or null: then each transaction
     *                stuffs {@code content} itself
     */
    public record Message(Envelope envelope, byte[] content, boolean eightBit, ByteBuf stuffed) {

        public static Message of(Envelope envelope, byte[] content) {
            boolean eight = envelope.body() != Envelope.BodyType.SEVEN_BIT || DotStuffer.hasEightBit(content);
            return new Message(envelope, content, eight, null);
        }

        /**
         * Like {@link #of}, with the content dot-stuffed now (call it off the event loop); every transaction sends a
         * duplicate of it. The caller must {@link #release()} it once the last transaction has ended.
         */
        public static Message stuffed(Envelope envelope, byte[] content) {
            DotStuffer.Stuffed s = DotStuffer.stuffScanning(content, ByteBufAllocator.DEFAULT);
            return new Message(envelope, content, envelope.body() != Envelope.BodyType.SEVEN_BIT || s.eightBit(),
                    s.data());
        }

        /** Releases the pre-stuffed data, if any. */
        public void release() {
            if (stuffed != null && stuffed.refCnt() > 0) {
                stuffed.release();
            }
        }

        /** The DATA stream for one transaction; the caller owns it. */
        ByteBuf data() {
            return stuffed != null ? stuffed.retainedDuplicate() : DotStuffer.stuff(content, ByteBufAllocator.DEFAULT);
        }
    }

    /**
     * @param outcomes one per recipient, in order
     * @param reusable whether the connection may carry another transaction
     */
    public record Result(List<RecipientOutcome> outcomes, boolean reusable) {
    }

    private Transaction() {
    }

    public static CompletableFuture<Result> run(SmtpConnection c, Message m, List<Recipient> rcpts, Timeouts to,
                                                boolean strict8BitMime) {
        return run(c, m, rcpts, to, strict8BitMime, null);
    }

    /**
     * Like {@link #run(SmtpConnection, Message, List, Timeouts, boolean)}, with {@code returnPath} (when not null) sent
     * as MAIL FROM instead of the envelope sender (VERP).
     */
    public static CompletableFuture<Result> run(SmtpConnection c, Message m, List<Recipient> rcpts, Timeouts to,
                                                boolean strict8BitMime, MailAddress returnPath) {
        Capabilities caps = c.capabilities();
        long size = m.content().length;
        if (caps.maxSize() > 0 && size > caps.maxSize()) {
            return done(all(c, rcpts, SmtpReply.of(552, "5.3.4", "message size " + size + " exceeds the size limit "
                    + caps.maxSize() + " of " + c.mxHost()), FailureInput.Kind.REPLY, true));
        }
        // SMTPUTF8 is needed by what this transaction sends: its MAIL FROM and its own recipients
        MailAddress from = returnPath == null ? m.envelope().sender() : returnPath;
        boolean intlRcpt = rcpts.stream().anyMatch(r -> r.address().isInternational());
        if (!caps.smtpUtf8() && (from.isInternational() || intlRcpt)) {
            SmtpReply no = SmtpReply.of(553, "5.6.7", "an internationalised address needs SMTPUTF8, which "
                    + c.mxHost() + " does not support");
            if (from.isInternational()) {
                return done(all(c, rcpts, no, FailureInput.Kind.REPLY, true));
            }
            // only the internationalised recipients fail; the others go without SMTPUTF8
            List<Recipient> ascii = rcpts.stream().filter(r -> !r.address().isInternational()).toList();
            Result refused = all(c, rcpts.stream().filter(r -> r.address().isInternational()).toList(), no,
                    FailureInput.Kind.REPLY, true);
            if (ascii.isEmpty()) {
                return done(refused);
            }
            return send(c, m, ascii, to, strict8BitMime, returnPath, false, caps, size)
                    .thenApply(r -> merge(rcpts, refused, r))
                    .exceptionally(t -> {
                        Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                        if (e instanceof StaleConnectionException stale) {
                            throw new StaleConnectionException(merge(rcpts, refused, stale.result()), stale.getCause());
                        }
                        throw t instanceof CompletionException ce ? ce : new CompletionException(e);
                    });
        }
        return send(c, m, rcpts, to, strict8BitMime, returnPath, from.isInternational() || intlRcpt, caps, size);
    }

    /** Both results' outcomes in the order of {@code rcpts}; reusable when the sent part's connection is. */
    private static Result merge(List<Recipient> rcpts, Result refused, Result sent) {
        List<RecipientOutcome> out = new ArrayList<>(rcpts.size());
        java.util.Iterator<RecipientOutcome> a = refused.outcomes().iterator();
        java.util.Iterator<RecipientOutcome> b = sent.outcomes().iterator();
        for (Recipient r : rcpts) {
            out.add(r.address().isInternational() ? a.next() : b.next());
        }
        return new Result(out, sent.reusable());
    }

    private static CompletableFuture<Result> send(SmtpConnection c, Message m, List<Recipient> rcpts, Timeouts to,
                                                  boolean strict8BitMime, MailAddress returnPath, boolean utf8,
                                                  Capabilities caps, long size) {
        if (m.eightBit() && !caps.eightBitMime() && strict8BitMime) {
            return done(all(c, rcpts, SmtpReply.of(554, "5.6.3", "8-bit message content and " + c.mxHost()
                    + " does not support 8BITMIME"), FailureInput.Kind.REPLY, true));
        }
        String mail = mailCommand(m, caps, utf8, size, returnPath);
        List<String> rcptCmds = new ArrayList<>(rcpts.size());
        for (Recipient r : rcpts) {
            rcptCmds.add(rcptCommand(r, caps));
        }
        long before = c.repliesReceived();
        CompletableFuture<Void> reset = c.isDirty() ? c.command("RSET", to.helo()).thenAccept(r -> c.dirty(false))
                : CompletableFuture.completedFuture(null);
        CompletableFuture<Result> tx = reset.thenCompose(v -> caps.pipelining()
                ? pipelined(c, m, rcpts, mail, rcptCmds, to) : sequential(c, m, rcpts, mail, rcptCmds, to));
        return tx.handle((r, t) -> {
            if (t == null) {
                return r;
            }
            Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            FailureInput.Kind kind = e instanceof SmtpTimeoutException ? FailureInput.Kind.TIMEOUT : FailureInput.Kind.OTHER;
            c.close();
            String text = (e instanceof SmtpTimeoutException ? "" : "lost connection with " + c + ": ")
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            Result failed = all(c, rcpts, SmtpReply.of(451, "4.4.2", text), kind, false);
            if (c.repliesReceived() == before) {
                throw new StaleConnectionException(failed, e);
            }
            return failed;
        });
    }

    /** The connection failed before it answered anything in this transaction: safe to retry on a fresh connection. */
    public static final class StaleConnectionException extends RuntimeException {
        private final transient Result result;

        StaleConnectionException(Result result, Throwable cause) {
            super(cause);
            this.result = result;
        }

        public Result result() {
            return result;
        }
    }

    private static CompletableFuture<Result> pipelined(SmtpConnection c, Message m, List<Recipient> rcpts, String mail,
                                                       List<String> rcptCmds, Timeouts to) {
        List<String> cmds = new ArrayList<>();
        List<Duration> tos = new ArrayList<>();
        cmds.add(mail);
        tos.add(to.mail());
        for (String r : rcptCmds) {
            cmds.add(r);
            tos.add(to.rcpt());
        }
        cmds.add("DATA");
        tos.add(to.dataInit());
        return c.commands(cmds, tos).thenCompose(replies -> {
            SmtpReply mailReply = replies.get(0);
            SmtpReply dataReply = replies.get(replies.size() - 1);
            return evaluate(c, m, rcpts, mailReply, replies.subList(1, replies.size() - 1), dataReply, to);
        });
    }

    private static CompletableFuture<Result> sequential(SmtpConnection c, Message m, List<Recipient> rcpts, String mail,
                                                        List<String> rcptCmds, Timeouts to) {
        return c.command(mail, to.mail()).thenCompose(mailReply -> {
            if (!mailReply.isPositive()) {
                return evaluate(c, m, rcpts, mailReply, List.of(), null, to);
            }
            CompletableFuture<List<SmtpReply>> chain = CompletableFuture.completedFuture(new ArrayList<>());
            for (String cmd : rcptCmds) {
                chain = chain.thenCompose(list -> c.command(cmd, to.rcpt()).thenApply(r -> {
                    list.add(r);
                    return list;
                }));
            }
            return chain.thenCompose(rcptReplies -> {
                boolean any = rcptReplies.stream().anyMatch(SmtpReply::isPositive);
                if (!any) {
                    return evaluate(c, m, rcpts, mailReply, rcptReplies, null, to);
                }
                return c.command("DATA", to.dataInit())
                        .thenCompose(d -> evaluate(c, m, rcpts, mailReply, rcptReplies, d, to));
            });
        });
    }

    private static CompletableFuture<Result> evaluate(SmtpConnection c, Message m, List<Recipient> rcpts, SmtpReply mailReply,
                                                      List<SmtpReply> rcptReplies, SmtpReply dataReply, Timeouts to) {
        boolean dataOpen = dataReply != null && dataReply.code() == 354;
        if (!mailReply.isPositive()) {
            c.dirty(true);
            Result r = all(c, rcpts, mailReply, FailureInput.Kind.REPLY, mailReply.code() != 421);
            return dataOpen ? abortData(c, r) : done(r);
        }
        RecipientOutcome[] out = new RecipientOutcome[rcpts.size()];
        List<Integer> accepted = new ArrayList<>();
        for (int i = 0; i < rcpts.size(); i++) {
            SmtpReply r = rcptReplies.get(i);
            if (r.isPositive()) {
                accepted.add(i);
            } else {
                out[i] = outcome(c, rcpts.get(i), r);
            }
        }
        boolean closing = rcptReplies.stream().anyMatch(r -> r.code() == 421);
        if (accepted.isEmpty()) {
            c.dirty(true);
            Result r = new Result(List.of(out), !closing);
            return dataOpen ? abortData(c, r) : done(r);
        }
        if (!dataOpen) {
            c.dirty(true);
            for (int i : accepted) {
                out[i] = outcome(c, rcpts.get(i), dataReply.isPositive()
                        ? SmtpReply.of(451, "4.5.0", "unexpected reply to DATA: " + dataReply) : dataReply);
            }
            return done(new Result(List.of(out), dataReply.code() != 421 && !closing));
        }
        return c.data(m.data(), to.dataBlock(), to.dataEnd())
                .thenApply(end -> {
                    c.countMessage();
                    for (int i : accepted) {
                        out[i] = outcome(c, rcpts.get(i), end);
                    }
                    return new Result(List.of(out), end.code() != 421 && !closing);
                });
    }

    /** DATA was accepted although no recipient was: end it with an empty message and drop the connection afterwards. */
    private static CompletableFuture<Result> abortData(SmtpConnection c, Result r) {
        return c.data(DotStuffer.stuff(new byte[0], io.netty.buffer.ByteBufAllocator.DEFAULT), Duration.ofSeconds(30),
                Duration.ofSeconds(30)).handle((x, t) -> new Result(r.outcomes(), false));
    }

    private static RecipientOutcome outcome(SmtpConnection c, Recipient r, SmtpReply reply) {
        RecipientResult.Status s = reply.isPositive() ? RecipientResult.Status.DELIVERED
                : reply.isTransient() ? RecipientResult.Status.DEFERRED : RecipientResult.Status.FAILED;
        return new RecipientOutcome(new RecipientResult(r, s, reply, c.mxHost()), FailureInput.Kind.REPLY, c.mxHost(),
                c.address().getHostAddress());
    }

    private static Result all(SmtpConnection c, List<Recipient> rcpts, SmtpReply reply, FailureInput.Kind kind,
                              boolean reusable) {
        List<RecipientOutcome> out = new ArrayList<>(rcpts.size());
        for (Recipient r : rcpts) {
            RecipientOutcome o = outcome(c, r, reply);
            out.add(new RecipientOutcome(o.result(), kind, o.mxHost(), o.mxAddress()));
        }
        return new Result(out, reusable);
    }

    static String mailCommand(Message m, Capabilities caps, boolean utf8, long size, MailAddress returnPath) {
        Envelope e = m.envelope();
        MailAddress from = returnPath == null ? e.sender() : returnPath;
        StringBuilder sb = new StringBuilder("MAIL FROM:").append(from.toSmtpPath());
        if (caps.size()) {
            sb.append(" SIZE=").append(size);
        }
        if (m.eightBit() && caps.eightBitMime()) {
            sb.append(" BODY=8BITMIME");
        }
        if (utf8 && caps.smtpUtf8()) {
            sb.append(" SMTPUTF8");
        }
        if (caps.dsn()) {
            if (e.ret() != null) {
                sb.append(" RET=").append(e.ret().name());
            }
            if (e.envId() != null) {
                sb.append(" ENVID=").append(xtext(e.envId()));
            }
        }
        return sb.toString();
    }

    static String rcptCommand(Recipient r, Capabilities caps) {
        StringBuilder sb = new StringBuilder("RCPT TO:").append(r.address().toSmtpPath());
        if (caps.dsn()) {
            if (!r.notifyOn().isEmpty()) {
                sb.append(" NOTIFY=");
                if (r.notifyOn().contains(Recipient.Notify.NEVER)) {
                    sb.append("NEVER");
                } else {
                    List<String> n = new ArrayList<>();
                    for (Recipient.Notify x : List.of(Recipient.Notify.SUCCESS, Recipient.Notify.FAILURE, Recipient.Notify.DELAY)) {
                        if (r.notifyOn().contains(x)) {
                            n.add(x.name());
                        }
                    }
                    sb.append(String.join(",", n));
                }
            }
            String orcpt = orcptParameter(r.orcpt());
            if (orcpt != null) {
                sb.append(" ORCPT=").append(orcpt);
            }
        }
        return sb.toString();
    }

    /**
     * The ORCPT parameter value for a recipient's stored ORCPT ({@code addr-type;address}, stored xtext-decoded):
     * {@code addr-type;xtext(address)}, or null when there is none or its address type is not an atom.
     */
    static String orcptParameter(String stored) {
        if (stored == null) {
            return null;
        }
        int semi = stored.indexOf(';');
        String type = semi < 0 ? "rfc822" : stored.substring(0, semi).trim();
        String value = semi < 0 ? stored : stored.substring(semi + 1);
        if (type.isEmpty() || !type.chars().allMatch(c -> c > 32 && c < 127 && "()<>@,;:\\\"[]=+".indexOf(c) < 0)) {
            return null;
        }
        return type + ";" + xtext(value);
    }

    /** RFC 3461 xtext. */
    static String xtext(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 33 && c <= 126 && c != '+' && c != '=') {
                sb.append((char) c);
            } else {
                sb.append('+').append(String.format("%02X", c));
            }
        }
        return sb.toString();
    }


    private static <T> CompletableFuture<T> done(T v) {
        return CompletableFuture.completedFuture(v);
    }
}
