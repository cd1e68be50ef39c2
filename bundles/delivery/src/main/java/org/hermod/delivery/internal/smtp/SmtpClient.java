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
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.hermod.api.SmtpReply;
import org.hermod.api.bounce.FailureInput;
import org.hermod.api.delivery.DeliveryTls;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.Route;
import org.hermod.delivery.internal.tls.HostTls;
import org.hermod.delivery.internal.tls.PeerCheck;

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

    /**
     * Connects to the first exchanger of the route that takes mail under the TLS requirements of {@code cs}: hosts the
     * policy refuses (an MX host outside the MTA-STS policy in enforce mode, a bogus TLSA RRset, dane-only without
     * TLSA) are skipped, and when no host is left the result is a 4.7.5 failure naming the reason.
     */
    public CompletableFuture<Connected> connect(Route route, ConnectSettings cs) {
        if (cs.tls().refusal() != null) {
            HostTls ht = cs.tls().fallback();
            return CompletableFuture.completedFuture(new Connected(null, new AttemptFailure(cs.tls().refusal(),
                    FailureInput.Kind.TLS_FAILURE, null, null, PeerCheck.outcome(ht, null, null, cs.tls().refusalType(),
                    cs.tls().refusal().text()))));
        }
        List<Target> targets = new ArrayList<>();
        AttemptFailure refused = null;
        for (MxHost h : route.hosts()) {
            HostTls ht = cs.tls().forHost(h.name());
            if (ht.refusal() != null) {
                refused = new AttemptFailure(SmtpReply.of(451, "4.7.5", ht.refusal()), FailureInput.Kind.TLS_FAILURE,
                        h.name(), null, PeerCheck.outcome(ht, null, null, null, null));
                continue;
            }
            for (InetAddress a : h.addresses()) {
                if (targets.size() < MAX_ADDRESSES) {
                    targets.add(new Target(h.name(), a, ht));
                }
            }
        }
        if (targets.isEmpty()) {
            return CompletableFuture.completedFuture(new Connected(null, refused != null ? refused : new AttemptFailure(
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
            if (c.connection == null && c.failure.kind() == FailureInput.Kind.TLS_FAILURE && !t.tls.requiresTls()) {
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
        return new AttemptFailure(new SmtpReply(r.code() - 100, status, lines), f.kind(), f.mxHost(), f.mxAddress(),
                f.tls());
    }

    private record Target(String host, InetAddress address, HostTls tls) {
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
                        ch.pipeline().addLast(Framer.NAME, new Framer());
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
                    return done(requireTls(conn, t, "does not speak ESMTP"));
                });
            }
            if (!ehlo.isPositive()) {
                conn.quit();
                return done(fail(ehlo, FailureInput.Kind.REPLY, t));
            }
            Capabilities caps = Capabilities.fromEhlo(ehlo);
            conn.capabilities(caps);
            if (tlsAllowed && caps.startTls() && t.tls.triesTls() && !conn.isTls()) {
                return conn.command("STARTTLS", to.helo()).thenCompose(st -> {
                    if (st.code() == 220 && conn.startTlsPipelined()) {
                        conn.close();
                        return done(withTls(fail(SmtpReply.of(451, "4.7.0", "STARTTLS response pipelined by " + t.host
                                + "[" + t.address.getHostAddress() + "]"), FailureInput.Kind.TLS_FAILURE, t),
                                PeerCheck.outcome(t.tls, null, null, "validation-failure",
                                        "STARTTLS response pipelined")));
                    }
                    if (st.code() != 220) {
                        return done(requireTls(conn, t, "STARTTLS refused: " + st));
                    }
                    return conn.startTls(sslContext, cs.port(), to.helo()).handle((session, e) -> {
                        if (e == null) {
                            return verified(conn, cs, t, session);
                        }
                        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                        conn.close();
                        Connected failed = fail(c instanceof SSLException ? c : new SSLException("TLS handshake failed: " + c, c),
                                t, "STARTTLS");
                        return done(withTls(failed, PeerCheck.outcome(t.tls, null, null, "validation-failure",
                                "TLS handshake failed: " + c.getMessage())));
                    }).thenCompose(f -> f);
                });
            }
            if (conn.isTls()) {
                return done(new Connected(conn, null)); // the EHLO after STARTTLS; the outcome is already set
            }
            return done(requireTls(conn, t, caps.startTls() ? null : "did not offer STARTTLS"));
        });
    }

    /**
     * After the handshake: checks the peer as the host's policy asks; a failed check of an enforced policy ends the
     * connection (4.7.5), else the outcome (with the failure, in testing mode) is kept and EHLO is sent again.
     */
    private CompletableFuture<Connected> verified(SmtpConnection conn, ConnectSettings cs, Target t,
                                                  javax.net.ssl.SSLSession session) {
        PeerCheck.Verdict v = PeerCheck.check(t.tls, session, t.host, cs.tls().domain(), cs.tls().certs());
        DeliveryTls outcome = PeerCheck.outcome(t.tls, session, v, null, null);
        if (v.failure() != null && t.tls.enforce()) {
            conn.quit();
            return done(withTls(fail(SmtpReply.of(451, "4.7.5", "TLS policy " + t.tls.policy() + ": "
                    + v.failure().detail() + " (" + t.host + "[" + t.address.getHostAddress() + "])"),
                    FailureInput.Kind.TLS_FAILURE, t), outcome));
        }
        if (v.failure() == null && v.verified()) {
            conn.verified(t.tls.check(), cs.tls().domain());
        }
        conn.tlsOutcome(outcome);
        return hello(conn, cs, t, false);
    }

    /** A connection without TLS: refused when the host's policy requires TLS, else kept with its outcome. */
    private static Connected requireTls(SmtpConnection conn, Target t, String why) {
        if (conn.isTls()) {
            return new Connected(conn, null);
        }
        if (t.tls.requiresTls()) {
            conn.quit();
            String text = "TLS is required for this destination (policy " + t.tls.policy() + ") but " + t.host
                    + (why == null ? " did not complete STARTTLS" : " " + why);
            return withTls(fail(SmtpReply.of(451, "4.7.5", text), FailureInput.Kind.TLS_FAILURE, t),
                    PeerCheck.outcome(t.tls, null, null, "starttls-not-supported", text));
        }
        boolean checked = t.tls.check() == HostTls.Check.PKIX || t.tls.check() == HostTls.Check.DANE
                || t.tls.check() == HostTls.Check.ENCRYPT;
        conn.tlsOutcome(PeerCheck.outcome(t.tls, null, null, checked ? "starttls-not-supported" : null,
                checked ? t.host + " " + (why == null ? "did not complete STARTTLS" : why) + "; sent in plaintext (policy "
                        + t.tls.policy() + " in testing mode)" : null));
        return new Connected(conn, null);
    }

    private static Connected withTls(Connected c, DeliveryTls tls) {
        AttemptFailure f = c.failure;
        return new Connected(null, new AttemptFailure(f.reply(), f.kind(), f.mxHost(), f.mxAddress(), tls));
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
