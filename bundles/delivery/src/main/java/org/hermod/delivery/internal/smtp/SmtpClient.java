package org.hermod.delivery.internal.smtp;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import javax.net.ssl.SSLException;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.hermod.api.SmtpReply;
import org.hermod.api.bounce.FailureInput;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.Route;

/**
 * Opens SMTP client connections: tries the exchangers of a {@link Route} in order (each address of each host) until one
 * greets with 220 and accepts EHLO (or HELO), upgrading with STARTTLS when offered. Uses epoll when available, else NIO.
 * Owns its event loop group; {@link #close()} shuts it down.
 */
public final class SmtpClient implements AutoCloseable {

    /** At most this many addresses are tried for one delivery. */
    static final int MAX_ADDRESSES = 10;

    private final EventLoopGroup group;
    private final Class<? extends Channel> channelClass;
    private final SslContext sslContext;

    public SmtpClient(int ioThreads) {
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(ioThreads, new DefaultThreadFactory("hermod-smtp-out", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.channelClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        try {
            this.sslContext = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                    .trustManager(InsecureTrustManagerFactory.INSTANCE).build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot create the TLS client context", e);
        }
    }

    public boolean usesEpoll() {
        return channelClass == EpollSocketChannel.class;
    }

    /** Connection or the failure of the last address tried. Never completes exceptionally. */
    public record Connected(SmtpConnection connection, AttemptFailure failure) {
    }

    public CompletableFuture<Connected> connect(Route route, ConnectSettings cs) {
        List<Target> targets = new ArrayList<>();
        for (MxHost h : route.hosts()) {
            for (InetAddress a : h.addresses()) {
                if (targets.size() < MAX_ADDRESSES) {
                    targets.add(new Target(h.name(), a));
                }
            }
        }
        if (targets.isEmpty()) {
            return CompletableFuture.completedFuture(new Connected(null, new AttemptFailure(
                    SmtpReply.of(451, "4.4.4", "no address to connect to"), FailureInput.Kind.DNS_FAILURE, null, null)));
        }
        return tryFrom(targets, 0, cs, null, true);
    }

    /**
     * Tries the targets from {@code i} on. A 5xx greeting, EHLO or HELO reply only skips that address (like Postfix's
     * {@code smtp_skip_5xx_greeting}); the result is permanent only when every address tried answered with 5xx, else the
     * last failure is turned into a temporary one. When the STARTTLS handshake fails and TLS is not required, the same
     * address is tried once more in plaintext before moving on.
     */
    private CompletableFuture<Connected> tryFrom(List<Target> targets, int i, ConnectSettings cs, AttemptFailure last,
                                                 boolean all5xx) {
        if (i >= targets.size()) {
            return CompletableFuture.completedFuture(new Connected(null, all5xx ? last : temporary(last)));
        }
        Target t = targets.get(i);
        return open(t, cs, true).thenCompose(c -> {
            if (c.connection == null && c.failure.kind() == FailureInput.Kind.TLS_FAILURE && !cs.tlsRequired()) {
                return open(t, cs, false);
            }
            return CompletableFuture.completedFuture(c);
        }).thenCompose(c -> c.connection != null ? CompletableFuture.completedFuture(c)
                : tryFrom(targets, i + 1, cs, c.failure, all5xx && c.failure.isPermanent()));
    }

    /** A permanent connection-phase failure made temporary (other addresses may still accept), else unchanged. */
    static AttemptFailure temporary(AttemptFailure f) {
        if (f == null || !f.isPermanent()) {
            return f;
        }
        SmtpReply r = f.reply();
        String status = r.enhancedStatus() == null ? "4.0.0" : "4" + r.enhancedStatus().substring(1);
        List<String> lines = new ArrayList<>(r.lines());
        lines.set(0, "host " + f.mxHost() + "[" + f.mxAddress() + "] refused to talk to me: " + r.code() + " "
                + (r.enhancedStatus() == null ? "" : r.enhancedStatus() + " ") + lines.get(0));
        return new AttemptFailure(new SmtpReply(r.code() - 100, status, lines), f.kind(), f.mxHost(), f.mxAddress());
    }

    private record Target(String host, InetAddress address) {
    }

    private CompletableFuture<Connected> open(Target t, ConnectSettings cs, boolean tlsAllowed) {
        CompletableFuture<Connected> result = new CompletableFuture<>();
        ReplyHandler replies = new ReplyHandler();
        CompletableFuture<SmtpReply> greeting = replies.expect(cs.timeouts().greeting().toMillis(), "greeting", true);
        Bootstrap b = new Bootstrap().group(group).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, cs.timeouts().connect().toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("framer", new LineBasedFrameDecoder(8192, true, false));
                        ch.pipeline().addLast(ReplyHandler.NAME, replies);
                    }
                });
        InetSocketAddress remote = new InetSocketAddress(t.address, cs.port());
        String where = t.host + "[" + t.address.getHostAddress() + "]:" + cs.port();
        var cf = bind(cs, t.address) == null ? b.connect(remote) : b.connect(remote, bind(cs, t.address));
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                Throwable c = f.cause();
                boolean timeout = c instanceof io.netty.channel.ConnectTimeoutException;
                String text = "connect to " + where + ": " + (timeout ? "Connection timed out"
                        : c instanceof ConnectException ? "Connection refused" : String.valueOf(c.getMessage()));
                result.complete(fail(SmtpReply.of(451, "4.4.1", text), timeout ? FailureInput.Kind.TIMEOUT
                        : FailureInput.Kind.CONNECTION_REFUSED, t));
                replies.fail(c);
                return;
            }
            SmtpConnection conn = new SmtpConnection(cf.channel(), replies, t.host, t.address);
            greeting.thenCompose(g -> {
                if (g.code() != 220) {
                    conn.quit();
                    return done(fail(g, FailureInput.Kind.REPLY, t));
                }
                return hello(conn, cs, t, tlsAllowed);
            }).whenComplete((c, e) -> {
                if (e != null) {
                    conn.close();
                    result.complete(fail(e, t, "greeting"));
                } else {
                    result.complete(c);
                }
            });
        });
        return result;
    }

    private CompletableFuture<Connected> hello(SmtpConnection conn, ConnectSettings cs, Target t, boolean tlsAllowed) {
        var to = cs.timeouts();
        return conn.command("EHLO " + cs.heloName(), to.helo()).thenCompose(ehlo -> {
            if (ehlo.isPermanent()) {
                return conn.command("HELO " + cs.heloName(), to.helo()).thenCompose(helo -> {
                    if (!helo.isPositive()) {
                        conn.quit();
                        return done(fail(helo, FailureInput.Kind.REPLY, t));
                    }
                    conn.capabilities(Capabilities.HELO);
                    return done(requireTls(conn, cs, t));
                });
            }
            if (!ehlo.isPositive()) {
                conn.quit();
                return done(fail(ehlo, FailureInput.Kind.REPLY, t));
            }
            Capabilities caps = Capabilities.fromEhlo(ehlo);
            conn.capabilities(caps);
            if (tlsAllowed && caps.startTls() && (cs.tlsEnabled() || cs.tlsRequired()) && !conn.isTls()) {
                return conn.command("STARTTLS", to.helo()).thenCompose(st -> {
                    if (st.code() != 220) {
                        return done(requireTls(conn, cs, t));
                    }
                    return conn.startTls(sslContext, cs.port(), to.helo()).handle((v, e) -> {
                        if (e == null) {
                            return hello(conn, cs, t, false);
                        }
                        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                        conn.close();
                        return done(fail(c instanceof SSLException ? c : new SSLException("TLS handshake failed: " + c, c),
                                t, "STARTTLS"));
                    }).thenCompose(f -> f);
                });
            }
            return done(requireTls(conn, cs, t));
        });
    }

    private static Connected requireTls(SmtpConnection conn, ConnectSettings cs, Target t) {
        if (cs.tlsRequired() && !conn.isTls()) {
            conn.quit();
            return fail(SmtpReply.of(451, "4.7.5", "TLS is required for this destination but " + t.host
                    + " did not offer STARTTLS"), FailureInput.Kind.TLS_FAILURE, t);
        }
        return new Connected(conn, null);
    }

    private static InetSocketAddress bind(ConnectSettings cs, InetAddress target) {
        if (cs.sourceAddress() == null || cs.sourceAddress().isEmpty()) {
            return null;
        }
        try {
            InetAddress src = InetAddress.getByName(cs.sourceAddress());
            if (src.getClass() != target.getClass()) {
                return null; // no source address of that family configured
            }
            return new InetSocketAddress(src, 0);
        } catch (java.net.UnknownHostException e) {
            return null;
        }
    }

    private static Connected fail(SmtpReply reply, FailureInput.Kind kind, Target t) {
        return new Connected(null, new AttemptFailure(reply, kind, t.host, t.address.getHostAddress()));
    }

    private static Connected fail(Throwable e, Target t, String phase) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        FailureInput.Kind kind = c instanceof SmtpTimeoutException ? FailureInput.Kind.TIMEOUT
                : c instanceof SSLException || (c.getCause() instanceof SSLException) ? FailureInput.Kind.TLS_FAILURE
                : FailureInput.Kind.CONNECTION_REFUSED;
        String status = kind == FailureInput.Kind.TLS_FAILURE ? "4.7.5" : "4.4.2";
        return fail(SmtpReply.of(451, status, "conversation with " + t.host + "[" + t.address.getHostAddress() + "] failed: "
                + c.getMessage()), kind, t);
    }

    private static <T> CompletableFuture<T> done(T v) {
        return CompletableFuture.completedFuture(v);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }

    EventLoopGroup group() {
        return group;
    }
}
