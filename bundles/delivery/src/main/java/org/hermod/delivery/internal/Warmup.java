package org.hermod.delivery.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.delivery.internal.dns.MxHost;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.dns.Route;
import org.hermod.delivery.internal.smtp.ConnectSettings;
import org.hermod.delivery.internal.smtp.ConnectionPool;
import org.hermod.delivery.internal.smtp.SmtpClient;
import org.hermod.delivery.internal.smtp.SmtpConnection;
import org.hermod.delivery.internal.smtp.Timeouts;
import org.hermod.delivery.internal.smtp.Transaction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a few hundred small synthetic messages through the real outbound SMTP code (connect, EHLO, pipelined
 * MAIL/RCPT/DATA, dot-stuffing, reply parsing, connection reuse through a pool) to a sink on a loopback ephemeral port
 * of its own, once, in the background after activation, so that the first real messages after a start do not pay for
 * class loading and interpretation of that code (issue 12). It uses its own pool and sink and touches no queue,
 * spool, listener, accounting log or shaping; it only logs at debug level.
 */
final class Warmup {

    private static final Logger LOG = LoggerFactory.getLogger(Warmup.class);

    /** Messages sent; a new connection every {@link #PER_CONNECTION}. */
    static final int MESSAGES = 400;
    static final int PER_CONNECTION = 20;
    /** Names resolved before. */
    static final int DNS_NAMES = 30;

    private final SmtpClient client;
    private volatile boolean stopped;
    /** Names the resolver found an exchanger with an address for (tests). */
    volatile int resolved;

    Warmup(SmtpClient client) {
        this.client = client;
    }

    /** Stops sending further messages (deactivation). */
    void stop() {
        stopped = true;
    }

    /** Runs the warm-up; completes (never exceptionally) with the number of messages the sink accepted. */
    CompletableFuture<Integer> run() {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("hermod-delivery-warmup",
                true), NioIoHandler.newFactory());
        CompletableFuture<Integer> done = new CompletableFuture<>();
        try {
            Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new LineBasedFrameDecoder(1000, true, false), new Sink());
                        }
                    }).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            ConnectionPool pool = new ConnectionPool(PER_CONNECTION, Duration.ofSeconds(10), 1);
            Route route = Route.of(List.of(new MxHost("warmup.invalid", 0, List.of(InetAddress.getLoopbackAddress()))),
                    false);
            ConnectSettings cs = new ConnectSettings(port, "warmup.invalid", "", Timeouts.uniform(Duration.ofSeconds(5)),
                    false, false);
            DnsResponder dns = new DnsResponder();
            java.util.concurrent.Executor own = group.next();
            MxResolver resolver = new MxResolver(List.of(dns.address()), Duration.ofSeconds(2), 16, false, own);
            dns(resolver, 0, own).thenCompose(v -> send(pool, route, cs, 0, 0, own)).whenComplete((n, t) -> {
                dns.close();
                pool.closeAll();
                server.close();
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                if (t != null) {
                    LOG.debug("delivery warm-up stopped: {}", t.toString());
                }
                done.complete(n == null ? 0 : n);
            });
        } catch (Exception | Error e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            LOG.debug("delivery warm-up not run: {}", e.toString());
            done.complete(0);
        }
        return done;
    }

    /**
     * Resolves {@link #DNS_NAMES} names (MX, then A and AAAA of the exchanger) through a resolver of the real kind
     * (dnsjava's lookup session and UDP client) asking the warm-up's own responder; the shared answer cache of the
     * real resolver is not touched.
     */
    private CompletableFuture<Void> dns(MxResolver r, int i, java.util.concurrent.Executor own) {
        if (i >= DNS_NAMES || stopped) {
            return CompletableFuture.completedFuture(null);
        }
        return r.resolve("d" + i + ".warmup.invalid").toCompletableFuture().thenComposeAsync(route -> {
            if (route.failure() == null && !route.hosts().isEmpty() && !route.hosts().get(0).addresses().isEmpty()) {
                resolved++;
            }
            return dns(r, i + 1, own);
        }, own);
    }

    /** Message {@code i} and the rest, one after the other; each is prepared on {@code own}, off the delivery threads. */
    private CompletableFuture<Integer> send(ConnectionPool pool, Route route, ConnectSettings cs, int i, int accepted,
                                            java.util.concurrent.Executor own) {
        if (i >= MESSAGES || stopped) {
            return CompletableFuture.completedFuture(accepted);
        }
        Envelope env = new Envelope(MailAddress.parse("warmup@warmup.invalid"),
                List.of(Recipient.of(MailAddress.parse("r" + (i % 3) + "@warmup.invalid"))), null, null,
                Envelope.BodyType.SEVEN_BIT, false, "warmup", "127.0.0.1", null);
        byte[] content = ("From: warmup@warmup.invalid\r\nSubject: warm-up " + i + "\r\n\r\n"
                + ".a line starting with a dot\r\nbare LF\n".repeat(1 + i % 4)).getBytes(StandardCharsets.US_ASCII);
        SmtpConnection pooled = pool.acquire("warmup");
        CompletableFuture<SmtpClient.Connected> connected = pooled != null
                ? CompletableFuture.completedFuture(new SmtpClient.Connected(pooled, null))
                : client.connect(route, cs);
        return connected.thenCompose(c -> {
            if (c.connection() == null) {
                throw new IllegalStateException("no connection to the warm-up sink: " + c.failure());
            }
            SmtpConnection sc = c.connection();
            Transaction.Message m = Transaction.Message.stuffed(env, content);
            return Transaction.run(sc, m, env.recipients(), cs.timeouts(), false).whenComplete((r, t) -> m.release())
                    .thenCompose(r -> {
                        boolean ok = r.outcomes().stream().allMatch(o -> o.result().status()
                                == org.hermod.api.spool.RecipientResult.Status.DELIVERED);
                        pool.release("warmup", sc, r.reusable() && sc.messages() < PER_CONNECTION);
                        return CompletableFuture.completedFuture(ok);
                    })
                    .thenComposeAsync(ok -> send(pool, route, cs, i + 1, accepted + (ok ? 1 : 0), own), own);
        });
    }

    /** Just enough of an SMTP server: 220, EHLO with PIPELINING, 250 to everything, 354 and 250 for DATA. */
    private static final class Sink extends SimpleChannelInboundHandler<ByteBuf> {
        private boolean data;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            say(ctx, "220 warmup.invalid ESMTP\r\n");
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            if (data) {
                if (line.readableBytes() == 1 && line.getByte(line.readerIndex()) == '.') {
                    data = false;
                    say(ctx, "250 2.0.0 ok\r\n");
                }
                return;
            }
            String cmd = line.toString(StandardCharsets.US_ASCII);
            String verb = cmd.length() >= 4 ? cmd.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : cmd;
            switch (verb) {
                case "EHLO" -> say(ctx, "250-warmup.invalid\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000000\r\n"
                        + "250 ENHANCEDSTATUSCODES\r\n");
                case "DATA" -> {
                    data = true;
                    say(ctx, "354 go ahead\r\n");
                }
                case "QUIT" -> ctx.writeAndFlush(ctx.alloc().buffer().writeBytes("221 2.0.0 bye\r\n"
                        .getBytes(StandardCharsets.US_ASCII))).addListener(f -> ctx.close());
                default -> say(ctx, "250 2.0.0 ok\r\n");
            }
        }

        private static void say(ChannelHandlerContext ctx, String s) {
            ctx.writeAndFlush(ctx.alloc().buffer(s.length()).writeBytes(s.getBytes(StandardCharsets.US_ASCII)));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Answers every MX query with {@code 10 mx.<name>}, every A query with 127.0.0.1, anything else empty. */
    private static final class DnsResponder implements AutoCloseable {
        private final java.net.DatagramSocket socket;

        DnsResponder() throws java.io.IOException {
            socket = new java.net.DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread t = new Thread(this::serve, "hermod-delivery-warmup-dns");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        private void serve() {
            byte[] buf = new byte[512];
            while (!socket.isClosed()) {
                try {
                    java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                    socket.receive(p);
                    org.xbill.DNS.Message q = new org.xbill.DNS.Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                    org.xbill.DNS.Record question = q.getQuestion();
                    org.xbill.DNS.Message a = new org.xbill.DNS.Message(q.getHeader().getID());
                    a.getHeader().setFlag(org.xbill.DNS.Flags.QR);
                    a.getHeader().setFlag(org.xbill.DNS.Flags.RD);
                    a.getHeader().setFlag(org.xbill.DNS.Flags.RA);
                    a.addRecord(question, org.xbill.DNS.Section.QUESTION);
                    org.xbill.DNS.Name n = question.getName();
                    if (question.getType() == org.xbill.DNS.Type.MX) {
                        a.addRecord(new org.xbill.DNS.MXRecord(n, org.xbill.DNS.DClass.IN, 60, 10,
                                org.xbill.DNS.Name.concatenate(org.xbill.DNS.Name.fromConstantString("mx"), n)),
                                org.xbill.DNS.Section.ANSWER);
                    } else if (question.getType() == org.xbill.DNS.Type.A) {
                        a.addRecord(new org.xbill.DNS.ARecord(n, org.xbill.DNS.DClass.IN, 60,
                                InetAddress.getLoopbackAddress()), org.xbill.DNS.Section.ANSWER);
                    }
                    byte[] wire = a.toWire();
                    socket.send(new java.net.DatagramPacket(wire, wire.length, p.getSocketAddress()));
                } catch (Exception e) {
                    if (!socket.isClosed()) {
                        LOG.debug("warm-up DNS responder: {}", e.toString());
                    }
                }
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }
}
