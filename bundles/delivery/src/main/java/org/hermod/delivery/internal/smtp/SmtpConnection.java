package org.hermod.delivery.internal.smtp;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.hermod.api.SmtpReply;
import org.hermod.api.delivery.DeliveryTls;
import org.hermod.delivery.internal.tls.HostTls;
import org.hermod.delivery.internal.tls.TlsRequirement;

/**
 * One open SMTP client connection. Commands are written in a single write per batch; replies are matched in order.
 * Methods may be called from any thread (they hop to the channel's event loop); returned futures complete on the event
 * loop, so their continuations must not block.
 */
public final class SmtpConnection {

    private final Channel channel;
    private final ReplyHandler replies;
    private final String mxHost;
    private final InetAddress address;
    private volatile Capabilities capabilities = Capabilities.HELO;
    private volatile boolean tls;
    private volatile DeliveryTls tlsOutcome;
    private volatile String verifiedFor;
    private volatile boolean dirty;
    private volatile int messages;
    private volatile long idleSince;

    SmtpConnection(Channel channel, ReplyHandler replies, String mxHost, InetAddress address) {
        this.channel = channel;
        this.replies = replies;
        this.mxHost = mxHost;
        this.address = address;
    }

    public String mxHost() {
        return mxHost;
    }

    public InetAddress address() {
        return address;
    }

    public Capabilities capabilities() {
        return capabilities;
    }

    void capabilities(Capabilities c) {
        this.capabilities = c;
    }

    public boolean isTls() {
        return tls;
    }

    /** The TLS outcome of this connection (negotiated, verified, policy), set once it is ready for mail. */
    public DeliveryTls tlsOutcome() {
        return tlsOutcome;
    }

    void tlsOutcome(DeliveryTls t) {
        this.tlsOutcome = t;
    }

    /** Records that the peer passed {@code check} (PKIX or DANE) for the destination {@code domain}. */
    void verified(HostTls.Check check, String domain) {
        this.verifiedFor = check + ":" + domain.toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Whether this connection meets what {@code req} asks of its host, so that it may carry mail for that destination:
     * the host is not refused, TLS is active when required, and when an enforced PKIX or DANE check applies the peer
     * passed that same check for that same destination. A pooled connection that does not is closed, not reused.
     */
    public boolean meets(TlsRequirement req) {
        HostTls h = req.forHost(mxHost);
        if (h.refusal() != null || h.requiresTls() && !tls) {
            return false;
        }
        boolean authenticated = h.check() == HostTls.Check.PKIX || h.check() == HostTls.Check.DANE;
        return !(authenticated && h.enforce())
                || tls && (h.check() + ":" + req.domain().toLowerCase(java.util.Locale.ROOT)).equals(verifiedFor);
    }

    /** True when the last transaction did not end cleanly and an RSET is due before the next one. */
    public boolean isDirty() {
        return dirty;
    }

    public void dirty(boolean d) {
        this.dirty = d;
    }

    public int messages() {
        return messages;
    }

    public void countMessage() {
        messages++;
    }

    long idleSince() {
        return idleSince;
    }

    void idleSince(long nanos) {
        idleSince = nanos;
    }

    public boolean isUsable() {
        return channel.isActive() && !replies.failed();
    }

    /** Whether the server sent more bytes right behind its 220 reply to STARTTLS (the connection is then failed). */
    boolean startTlsPipelined() {
        return replies.startTlsPipelined();
    }

    long repliesReceived() {
        return replies.repliesReceived();
    }

    /** Sends one command and waits for its reply. */
    public CompletableFuture<SmtpReply> command(String line, Duration timeout) {
        return commands(List.of(line), List.of(timeout)).thenApply(l -> l.get(0));
    }

    /** Sends several commands in one write (pipelining) and collects one reply per command. */
    public CompletableFuture<List<SmtpReply>> commands(List<String> lines, List<Duration> timeouts) {
        CompletableFuture<List<SmtpReply>> result = new CompletableFuture<>();
        onLoop(() -> {
            List<CompletableFuture<SmtpReply>> fs = new ArrayList<>(lines.size());
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                String cmd = lines.get(i);
                fs.add(replies.expect(timeouts.get(i).toMillis(), verb(cmd), true));
                sb.append(cmd).append("\r\n");
            }
            channel.writeAndFlush(channel.alloc().buffer(sb.length()).writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8)))
                    .addListener(w -> {
                        if (!w.isSuccess()) {
                            replies.fail(w.cause());
                        }
                    });
            CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).whenComplete((v, t) -> {
                if (t != null) {
                    result.completeExceptionally(t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                            ? t.getCause() : t);
                } else {
                    List<SmtpReply> out = new ArrayList<>(fs.size());
                    fs.forEach(f -> out.add(f.join()));
                    result.complete(out);
                }
            });
        });
        return result;
    }

    /**
     * Writes the dot-stuffed message (ownership of {@code data} passes here) and waits for the end-of-data reply. The
     * write must finish within {@code blockTimeout} per started MiB; the reply timer starts once the data is written.
     */
    public CompletableFuture<SmtpReply> data(ByteBuf data, Duration blockTimeout, Duration endTimeout) {
        CompletableFuture<SmtpReply> result = new CompletableFuture<>();
        onLoop(() -> {
            CompletableFuture<SmtpReply> end = replies.expect(endTimeout.toMillis(), "end of data", false);
            long mib = 1 + data.readableBytes() / (1024 * 1024);
            long writeLimit = blockTimeout.toMillis() * mib;
            ScheduledFuture<?> writeTimer = channel.eventLoop().schedule(
                    () -> replies.fail(new SmtpTimeoutException("timeout after " + writeLimit + " ms sending message data")),
                    writeLimit, TimeUnit.MILLISECONDS);
            channel.writeAndFlush(data).addListener(w -> {
                writeTimer.cancel(false);
                if (w.isSuccess()) {
                    replies.arm(end);
                } else {
                    replies.fail(w.cause());
                }
            });
            end.whenComplete((r, t) -> {
                if (t != null) {
                    result.completeExceptionally(t);
                } else {
                    result.complete(r);
                }
            });
        });
        return result;
    }

    /** Upgrades to TLS after a 220 reply to STARTTLS, sending the MX host name as SNI; completes with the session. */
    CompletableFuture<SSLSession> startTls(SslContext ctx, int port, Duration timeout) {
        CompletableFuture<SSLSession> result = new CompletableFuture<>();
        onLoop(() -> {
            SslHandler ssl = ctx.newHandler(channel.alloc(), mxHost, port);
            if (mxHost.indexOf('.') > 0 && !mxHost.matches("[0-9.]+|.*:.*")) {
                SSLParameters p = ssl.engine().getSSLParameters();
                p.setServerNames(List.of(new SNIHostName(mxHost)));
                ssl.engine().setSSLParameters(p);
            }
            ssl.setHandshakeTimeoutMillis(timeout.toMillis());
            if (replies.startTlsPipelined()
                    || channel.pipeline().get(Framer.NAME) instanceof Framer f && f.buffered() > 0) {
                result.completeExceptionally(new SSLException("STARTTLS response pipelined"));
                return;
            }
            // a fresh framer: nothing received before the handshake is read as if it came over TLS
            channel.pipeline().replace(Framer.NAME, Framer.NAME, new Framer());
            channel.pipeline().addFirst("ssl", ssl);
            ssl.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    tls = true;
                    result.complete(ssl.engine().getSession());
                } else {
                    replies.fail(h.cause());
                    result.completeExceptionally(h.cause());
                }
            });
        });
        return result;
    }

    /** Sends QUIT (not waiting long for the answer) and closes. */
    public void quit() {
        if (!isUsable()) {
            close();
            return;
        }
        command("QUIT", Duration.ofSeconds(5)).whenComplete((r, t) -> close());
    }

    public void close() {
        channel.close();
    }

    private void onLoop(Runnable r) {
        if (channel.eventLoop().inEventLoop()) {
            r.run();
        } else {
            channel.eventLoop().execute(r);
        }
    }

    private static String verb(String cmd) {
        int sp = cmd.indexOf(' ');
        String v = sp < 0 ? cmd : cmd.substring(0, sp);
        return v.startsWith("MAIL") ? "MAIL FROM" : v.startsWith("RCPT") ? "RCPT TO" : v;
    }

    @Override
    public String toString() {
        return mxHost + "[" + address.getHostAddress() + "]";
    }
}
