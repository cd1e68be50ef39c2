package org.hermod.smtp.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.Spool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;

/**
 * Runs synthetic SMTP transactions through the real session code (framing, command parsing, DATA unstuffing, trace
 * headers, replies) on a private loopback listener before the public listeners open, so that
 * the first real clients after a start do not meet code that is still being loaded and interpreted (issue 12; the
 * outbound side has its own warm-up in delivery). The messages go to a spool that keeps nothing; no routing filter,
 * event log, rate counter, connection limit or data budget of the real listeners sees them. Bounded by a message count
 * and a time limit; a failure only ends it early.
 */
final class ServerWarmup {

    private static final Logger LOG = LoggerFactory.getLogger(ServerWarmup.class);

    /** Messages sent at most; a new connection every {@link #PER_CONNECTION}. */
    static final int MESSAGES = 1500;
    static final int PER_CONNECTION = 50;
    /** The warm-up (messages, then waiting for the compiler to catch up) ends after this, however far it got. */
    static final long MAX_MILLIS = 15_000;

    private ServerWarmup() {
    }

    /** What a warm-up did: messages the private listener accepted, and its port (closed again by then). */
    record Result(int accepted, int port) {
    }

    /**
     * Runs the warm-up on the server's event loops.
     *
     * @param config the server's configuration (host name, size limits, framing); the warm-up trusts loopback whatever
     *        {@code mynetworks} says and runs without routing filters (as if {@code filtersRequired} were false)
     */
    static Result run(SmtpServerConfig config, EventLoopGroup loops,
                   Class<? extends ServerChannel> type) {
        SmtpSettings settings = SmtpSettings.from(overridden(config, Map.of(
                "mynetworks", new String[] {"127.0.0.0/8", "::1/128"},
                "filtersRequired", Boolean.FALSE,
                "refuseSuppressed", Boolean.FALSE)));
        DataBudget budget = new DataBudget(64L * 1024 * 1024);
        SessionServices services = new SessionServices(new DiscardingSpool(), RecipientPolicy.NONE, ListenerMode.MTA,
                null, null, new ClientRates(), null, SmtpEvents.NONE, null, null, SessionServices.NO_FILTERS, "warmup",
                new SpoolHealth(System::nanoTime));
        Channel listener;
        try {
            listener = new ServerBootstrap().group(loops, loops).channel(type)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            SmtpFrameDecoder framer = new SmtpFrameDecoder(settings.normalizeBareNewlines(), budget);
                            ch.pipeline().addLast(SmtpServer.FRAMER, framer)
                                    .addLast(SmtpServer.SESSION, new SmtpSession(settings, services, framer));
                        }
                    })
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(0, 0);
        } catch (RuntimeException e) {
            LOG.warn("SMTP warm-up skipped: {}", e.toString());
            return new Result(0, 0);
        }
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        long end = System.nanoTime() + MAX_MILLIS * 1_000_000;
        int accepted = 0;
        try {
            while (accepted < MESSAGES && System.nanoTime() < end) {
                accepted += connection(port, Math.min(PER_CONNECTION, MESSAGES - accepted), accepted, end);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("SMTP warm-up ended early after {} messages: {}", accepted, e.toString());
        } finally {
            listener.close().syncUninterruptibly();
        }
        settle(end);
        return new Result(accepted, port);
    }

    /**
     * Waits (until {@code end} at most) for the JIT compiler to work off what the warm-up gave it: compiling goes on in
     * the background for seconds after the messages, and on a small machine it would take its CPU from the first real
     * clients. Settled when the compilers were busy less than a tenth of the last 200 ms.
     */
    private static void settle(long end) {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long before = jit.getTotalCompilationTime();
        while (System.nanoTime() < end) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = jit.getTotalCompilationTime();
            if (now - before < 20) {
                return;
            }
            before = now;
        }
    }

    /** One connection sending up to {@code n} messages; returns how many were accepted. */
    private static int connection(int port, int n, int sent, long end) throws IOException {
        int ok = 0;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
            s.setSoTimeout(5_000);
            s.setTcpNoDelay(true);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            command(out, in, "EHLO warmup.invalid", "250");
            for (int i = 0; i < n && System.nanoTime() < end; i++) {
                int k = sent + i;
                byte[] body = message(k);
                if (k % 3 == 0) { // pipelined, as most bulk senders' clients do
                    out.write(("MAIL FROM:<warmup@warmup.invalid> SIZE=" + body.length + "\r\nRCPT TO:<w" + k
                            + "@warmup.invalid>\r\nDATA\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    expect(in, "250");
                    expect(in, "250");
                    expect(in, "354");
                } else {
                    command(out, in, "MAIL FROM:<warmup@warmup.invalid> BODY=8BITMIME", "250");
                    command(out, in, "RCPT TO:<w" + k + "@warmup.invalid> NOTIFY=FAILURE", "250");
                    command(out, in, "DATA", "354");
                }
                out.write(body);
                out.flush();
                expect(in, "250");
                ok++;
            }
            command(out, in, "QUIT", "221");
        }
        return ok;
    }

    /** A message of 2 to about 40 KB, with dot-stuffed lines and folded headers, ending in CRLF.CRLF. */
    static byte[] message(int k) {
        StringBuilder b = new StringBuilder(2200);
        b.append("From: <warmup@warmup.invalid>\r\nTo: <w").append(k).append("@warmup.invalid>\r\n")
                .append("Subject: warm-up ").append(k).append("\r\nX-Long: a folded\r\n header line\r\n")
                .append("Message-ID: <").append(k).append("@warmup.invalid>\r\nMIME-Version: 1.0\r\n\r\n");
        int lines = k % 10 == 0 ? 500 : 25;
        for (int i = 0; i < lines; i++) {
            b.append(i % 7 == 0 ? ".." : "").append("line ").append(i)
                    .append(" of a synthetic message that warms up the SMTP server's code paths\r\n");
        }
        return b.append(".\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void command(OutputStream out, BufferedReader in, String line, String code) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        expect(in, code);
    }

    /** Reads one (possibly multi-line) reply and checks its code. */
    private static void expect(BufferedReader in, String code) throws IOException {
        String l;
        do {
            l = in.readLine();
            if (l == null) {
                throw new IOException("connection closed waiting for " + code);
            }
        } while (l.length() > 3 && l.charAt(3) == '-');
        if (!l.startsWith(code)) {
            throw new IOException("expected " + code + ", got: " + l);
        }
    }

    /** The configuration with some values replaced. */
    private static SmtpServerConfig overridden(SmtpServerConfig config, Map<String, Object> values) {
        return (SmtpServerConfig) Proxy.newProxyInstance(SmtpServerConfig.class.getClassLoader(),
                new Class<?>[] {SmtpServerConfig.class}, (proxy, method, args) -> {
                    Object v = values.get(method.getName());
                    if (v != null) {
                        return v;
                    }
                    try {
                        return method.invoke(config, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** Accepts everything at once and keeps nothing. */
    private static final class DiscardingSpool implements Spool {
        private final AtomicLong ids = new AtomicLong();

        @Override
        public CompletableFuture<String> store(Envelope envelope, byte[] content) {
            return store(newQueueId(), envelope, content);
        }

        @Override
        public CompletableFuture<String> store(String queueId, Envelope envelope, byte[] content) {
            return CompletableFuture.completedFuture(queueId);
        }

        @Override
        public CompletableFuture<String> store(String queueId, Envelope envelope, Route route, String holdReason,
                                               byte[] content) {
            return CompletableFuture.completedFuture(queueId);
        }

        @Override
        public String newQueueId() {
            return "WARMUP" + ids.incrementAndGet();
        }
    }
}
