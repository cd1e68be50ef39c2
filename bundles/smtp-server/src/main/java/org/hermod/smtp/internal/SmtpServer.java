package org.hermod.smtp.internal;

import java.net.InetSocketAddress;

import org.hermod.api.spool.Spool;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/**
 * The ESMTP listener. Pipeline per connection, in order: connection limits, framing (CRLF lines / dot-terminated data),
 * the session state machine. Settings that do not need a new socket apply live to new sessions.
 */
@Component(configurationPid = "org.hermod.smtp", configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true,
        service = SmtpServer.class)
@Designate(ocd = SmtpServerConfig.class)
public final class SmtpServer {

    private static final Logger LOG = LoggerFactory.getLogger(SmtpServer.class);

    static final String LIMITER = "limiter";
    static final String FRAMER = "framer";
    static final String SESSION = "session";

    private final Spool spool;
    private final PolicyTracker policy;
    private volatile SmtpSettings settings;
    private ConnectionLimiter limiter;
    private final DataBudget dataBudget = new DataBudget(0);
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel server;
    private String boundTo;

    @Activate
    public SmtpServer(@Reference Spool spool, @Reference PolicyTracker policy, SmtpServerConfig config)
            throws InterruptedException {
        this.spool = spool;
        this.policy = policy;
        this.settings = SmtpSettings.from(config);
        dataBudget.setLimit(config.maxBufferedDataMb() * 1024 * 1024);
        start(config);
    }

    private void start(SmtpServerConfig config) throws InterruptedException {
        limiter = new ConnectionLimiter(settings);
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        boss = new MultiThreadIoEventLoopGroup(1, io);
        workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), io);
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(type)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SmtpSettings s = settings;
                        SmtpFrameDecoder framer = new SmtpFrameDecoder(s.normalizeBareNewlines(), dataBudget);
                        ch.pipeline()
                                .addLast(LIMITER, limiter)
                                .addLast(FRAMER, framer)
                                .addLast(SESSION, new SmtpSession(s, spool, framer, policy));
                    }
                });
        server = b.bind(new InetSocketAddress(config.bindAddress(), config.port())).sync().channel();
        boundTo = config.bindAddress() + ":" + config.port();
        LOG.info("Hermod SMTP server listening on {} ({} transport, host name {})", server.localAddress(),
                epoll ? "epoll" : "nio", settings.hostname());
    }

    @Modified
    void modified(SmtpServerConfig config) throws InterruptedException {
        SmtpSettings s = SmtpSettings.from(config);
        this.settings = s;
        limiter.update(s);
        dataBudget.setLimit(config.maxBufferedDataMb() * 1024 * 1024);
        if (!boundTo.equals(config.bindAddress() + ":" + config.port())) {
            stop();
            start(config);
        }
        LOG.info("Hermod SMTP server settings updated");
    }

    @Deactivate
    void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        if (boss != null) {
            boss.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS);
        }
        if (workers != null) {
            workers.shutdownGracefully(0, 5, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** The port actually bound (tests use port 0). */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }
}
