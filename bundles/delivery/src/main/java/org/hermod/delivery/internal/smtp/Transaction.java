package org.hermod.delivery.internal.smtp;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

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
 * internationalised address to a peer without SMTPUTF8 fails permanently (5.6.7); 8-bit content to a peer without
 * 8BITMIME is sent anyway (as most MTAs do, without BODY=) unless {@code strict8BitMime}, then it fails with 5.6.3.
 */
public final class Transaction {

    /** What the transaction needs to know about the message. */
    public record Message(Envelope envelope, byte[] content, boolean eightBit) {

        public static Message of(Envelope envelope, byte[] content) {
            boolean eight = envelope.body() != Envelope.BodyType.SEVEN_BIT;
            if (!eight) {
                for (byte b : content) {
                    if (b < 0) {
                        eight = true;
                        break;
                    }
                }
            }
            return new Message(envelope, content, eight);
        }

        boolean needsSmtpUtf8() {
            if (envelope.sender().isInternational()) {
                return true;
            }
            for (Recipient r : envelope.recipients()) {
                if (r.address().isInternational()) {
                    return true;
                }
            }
            return false;
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
        boolean utf8 = m.needsSmtpUtf8();
        if (utf8 && !caps.smtpUtf8()) {
            return done(all(c, rcpts, SmtpReply.of(553, "5.6.7", "an internationalised address needs SMTPUTF8, which "
                    + c.mxHost() + " does not support"), FailureInput.Kind.REPLY, true));
        }
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
        return c.data(DotStuffer.stuff(m.content(), io.netty.buffer.ByteBufAllocator.DEFAULT), to.dataBlock(), to.dataEnd())
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
            if (r.orcpt() != null) {
                sb.append(" ORCPT=").append(r.orcpt());
            }
        }
        return sb.toString();
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

    static boolean isNull(MailAddress a) {
        return a.isNullSender();
    }

    private static <T> CompletableFuture<T> done(T v) {
        return CompletableFuture.completedFuture(v);
    }
}
