package org.hermod.delivery.internal.smtp;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.hermod.api.SmtpReply;

/**
 * Assembles (multi-line) replies from the line frames and hands each one to the oldest waiting expectation, in order
 * (which is how pipelined replies are matched to commands). Each expectation has its own timeout, which starts when it
 * becomes the oldest one; a timeout or a closed connection fails every waiting expectation and closes the channel.
 *
 * <p>All methods run on the channel's event loop only.
 */
final class ReplyHandler extends ChannelInboundHandlerAdapter {

    static final String NAME = "replies";

    private final ArrayDeque<Expect> pending = new ArrayDeque<>();
    private final List<String> lines = new ArrayList<>();
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    private Throwable failure;
    private long replies;
    private boolean startTlsPipelined;

    private static final class Expect {
        final CompletableFuture<SmtpReply> future;
        final long timeoutMillis;
        final String what;
        boolean armed = true;

        Expect(CompletableFuture<SmtpReply> future, long timeoutMillis, String what) {
            this.future = future;
            this.timeoutMillis = timeoutMillis;
            this.what = what;
        }
    }

    /** Registers an expected reply. With {@code armed=false} its timer only starts when {@link #arm} is called. */
    CompletableFuture<SmtpReply> expect(long timeoutMillis, String what, boolean armed) {
        CompletableFuture<SmtpReply> f = new CompletableFuture<>();
        if (failure != null) {
            f.completeExceptionally(failure);
            return f;
        }
        Expect e = new Expect(f, timeoutMillis, what);
        e.armed = armed;
        pending.addLast(e);
        if (pending.size() == 1) {
            startTimer();
        }
        return f;
    }

    /** Starts the timer of an expectation registered unarmed (e.g. the end-of-data reply once the data is written). */
    void arm(CompletableFuture<SmtpReply> f) {
        for (Expect e : pending) {
            if (e.future == f && !e.armed) {
                e.armed = true;
                if (pending.peekFirst() == e) {
                    startTimer();
                }
            }
        }
    }

    long repliesReceived() {
        return replies;
    }

    boolean failed() {
        return failure != null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            ByteBuf buf = (ByteBuf) msg;
            String line = buf.toString(StandardCharsets.UTF_8);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            onLine(line);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onLine(String line) {
        if (line.length() < 3 || !Character.isDigit(line.charAt(0)) || !Character.isDigit(line.charAt(1))
                || !Character.isDigit(line.charAt(2)) || (line.length() > 3 && line.charAt(3) != ' ' && line.charAt(3) != '-')) {
            fail(new IOException("malformed reply line: " + abbreviate(line)));
            return;
        }
        lines.add(line);
        if (line.length() > 3 && line.charAt(3) == '-') {
            if (lines.size() > 1000) {
                fail(new IOException("reply too long"));
            }
            return;
        }
        SmtpReply reply = parse(lines);
        lines.clear();
        replies++;
        Expect e = pending.pollFirst();
        cancelTimer();
        if (e == null) {
            // unsolicited: e.g. a 421 before closing; remember nothing, the next command will see the closed channel
            if (reply.code() == 421) {
                ctx.close();
            }
            return;
        }
        startTimer();
        boolean injected = "STARTTLS".equals(e.what) && reply.code() == 220 && buffered() > 0;
        if (injected) {
            // bytes after the 220 would be read as if they came over TLS (CVE-2011-0411, client side)
            startTlsPipelined = true;
        }
        e.future.complete(reply);
        if (injected) {
            fail(new IOException("STARTTLS response pipelined"));
        }
    }

    /** Whether the 220 reply to STARTTLS came with more bytes behind it (then the connection is failed). */
    boolean startTlsPipelined() {
        return startTlsPipelined;
    }

    private int buffered() {
        return ctx != null && ctx.pipeline().get(Framer.NAME) instanceof Framer f ? f.buffered() : 0;
    }

    static SmtpReply parse(List<String> lines) {
        int code = Integer.parseInt(lines.get(0).substring(0, 3));
        String status = null;
        List<String> texts = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).length() > 4 ? lines.get(i).substring(4) : "";
            String st = enhanced(text, code);
            if (st != null) {
                if (i == 0) {
                    status = st;
                }
                if (status != null && status.equals(st)) {
                    text = text.substring(st.length()).stripLeading();
                }
            }
            texts.add(text);
        }
        return new SmtpReply(code, status, texts);
    }

    private static String enhanced(String text, int code) {
        int sp = text.indexOf(' ');
        String first = sp < 0 ? text : text.substring(0, sp);
        return SmtpReply.isEnhancedStatusOf(first, code) ? first : null;
    }

    private void startTimer() {
        Expect head = pending.peekFirst();
        if (head == null || !head.armed || ctx == null || timer != null) {
            return;
        }
        timer = ctx.executor().schedule(() -> {
            timer = null;
            fail(new SmtpTimeoutException("timeout after " + head.timeoutMillis + " ms waiting for the reply to " + head.what));
        }, head.timeoutMillis, TimeUnit.MILLISECONDS);
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    void fail(Throwable t) {
        if (failure == null) {
            failure = t;
        }
        cancelTimer();
        Expect e;
        while ((e = pending.pollFirst()) != null) {
            e.future.completeExceptionally(failure);
        }
        if (ctx != null) {
            ctx.close();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        startTimer();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(new ClosedChannelException() {
            @Override
            public String getMessage() {
                return "connection closed by peer";
            }
        });
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(cause);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
