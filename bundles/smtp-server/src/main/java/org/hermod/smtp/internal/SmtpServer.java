package org.hermod.smtp.internal;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterChainProvider;
import org.hermod.api.spool.Spool;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
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
import io.netty.handler.ssl.SslHandler;

/**
 * The ESMTP server: the settings all listeners share (PID org.hermod.smtp), the event loops, the TLS certificate, the
 * authenticator, per-client counters and the recipient map, and the MTA listener on {@code port}. More listeners
 * (submission, implicit TLS) are {@link SmtpListener} factory configurations that bind through {@link #bind}.
 * Pipeline per connection, in order: connection limits, TLS (implicit TLS listeners; added later by STARTTLS),
 * framing (CRLF lines / dot-terminated data / BDAT chunks), the session state machine. Settings that do not need a
 * new socket apply live to new sessions. The routing filters come from the routing bundle's
 * {@link FilterChainProvider}, bound dynamically: installing, updating or removing it restarts neither the server nor
 * its connections; each new transaction takes the chain in force.
 */
@Component(configurationPid = "org.hermod.smtp", configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true,
        service = SmtpServer.class)
@Designate(ocd = SmtpServerConfig.class)
public final class SmtpServer {

    private static final Logger LOG = LoggerFactory.getLogger(SmtpServer.class);

    static final String LIMITER = "limiter";
    static final String TLS = "tls";
    static final String FRAMER = "framer";
    static final String SESSION = "session";
    private static final long FILE_CHECK_SECONDS = 5;

    private final Spool spool;
    private final PolicyTracker policy;
    private final Path etc;
    private volatile SmtpSettings settings;
    private final ConnectionLimiter limiter;
    private final DataBudget dataBudget = new DataBudget(0);
    private final ClientRates rates = new ClientRates();
    private final SpoolHealth spoolHealth = new SpoolHealth(System::nanoTime);
    private final JaasAuthenticator auth;
    private final SmtpEvents.File events;
    private volatile TlsCertificates tls;
    private volatile RecipientMap recipients;
    private volatile RecipientVerifier verifier;
    private volatile RecipientDirectory directory;
    private String directoryKey = "";

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile FilterChainProvider filterChains;
    private String verifierKey = "";
    private final ScheduledExecutorService files;
    /** The event loops: each accepts on its listeners and runs the sessions it accepted or was given. */
    private final EventLoopGroup workers;
    private final boolean epoll;
    private Channel server;
    private String boundTo;
    private String tlsFiles;
    private String recipientFile;

    @Activate
    public SmtpServer(@Reference Spool spool, @Reference PolicyTracker policy, SmtpServerConfig config,
                      BundleContext context) throws InterruptedException {
        this.spool = spool;
        this.policy = policy;
        String karafEtc = context.getProperty("karaf.etc");
        this.etc = Paths.get(karafEtc == null ? "etc" : karafEtc);
        String karafData = context.getProperty("karaf.data");
        this.events = new SmtpEvents.File(Paths.get(karafData == null ? "data" : karafData, "hermod", "log",
                "smtp-events.jsonl").toAbsolutePath());
        this.settings = SmtpSettings.from(config);
        this.limiter = new ConnectionLimiter(settings, rates);
        dataBudget.setLimit(config.maxBufferedDataMb() * 1024 * 1024);
        this.auth = new JaasAuthenticator(settings.authRealm(), settings.authRole());
        loadFiles(config);
        epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        // no separate acceptor thread: a listener's event loop accepts and registers the connection on the group's
        // next loop (round robin); the connections that land on the accepting loop itself (1 in ioThreads) reach their
        // greeting without a thread hand-off, and there is one thread fewer to wake
        workers = new MultiThreadIoEventLoopGroup(ioThreads(config), io);
        files = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-smtp-files");
            t.setDaemon(true);
            return t;
        });
        files.scheduleWithFixedDelay(this::checkFiles, FILE_CHECK_SECONDS, FILE_CHECK_SECONDS, TimeUnit.SECONDS);
        try {
            if (config.warmup()) {
                long t0 = System.nanoTime();
                int n = ServerWarmup.run(config, workers, serverChannelType()).accepted();
                LOG.info("SMTP warm-up: {} synthetic messages through the session code in {} ms (nothing stored)", n,
                        (System.nanoTime() - t0) / 1_000_000);
            }
            server = bind(config.bindAddress(), config.port(), ListenerMode.MTA, "default");
        } catch (RuntimeException | InterruptedException e) {
            stop();
            throw e;
        }
        boundTo = config.bindAddress() + ":" + config.port();
    }

    /** (Re)creates the certificate and recipient map holders when their file names changed. */
    private void loadFiles(SmtpServerConfig c) {
        String tf = c.tlsCertificate() + "|" + c.tlsKey() + "|" + String.join(",", protocols(c));
        if (!tf.equals(tlsFiles)) {
            tls = new TlsCertificates(resolve(c.tlsCertificate()), resolve(c.tlsKey()), settings.hostname(), protocols(c));
            tlsFiles = tf;
        }
        String vk = (c.verifyNextHop() == null ? "" : c.verifyNextHop().trim()) + "|" + c.verifyTimeoutSeconds() + "|"
                + c.verifyPositiveTtlSeconds() + "|" + c.verifyNegativeTtlSeconds();
        if (!vk.equals(verifierKey)) {
            // the previous verifier is not closed: sessions that started with it keep using it (its idle threads end
            // by themselves), so a configuration change never turns their pending checks into refusals
            String hop = c.verifyNextHop() == null ? "" : c.verifyNextHop().trim();
            verifier = hop.isEmpty() ? null : new RecipientVerifier(hop, settings.hostname(), c.verifyTimeoutSeconds(),
                    c.verifyPositiveTtlSeconds(), c.verifyNegativeTtlSeconds());
            verifierKey = vk;
            if (verifier != null) {
                LOG.info("Recipients of relay domains are verified at {}", verifier.nextHop());
            }
        }
        loadDirectory(c);
        String rf = c.recipientMap() == null ? "" : c.recipientMap().trim();
        if (!rf.equals(recipientFile)) {
            recipients = new RecipientMap(rf.isEmpty() ? null : resolve(rf));
            recipientFile = rf;
        }
    }

    /** (Re)creates the LDAP recipient directory when its settings changed. */
    private void loadDirectory(SmtpServerConfig c) {
        List<String> domains = SmtpSettings.split(c.ldapDomains());
        String key = domains + "|" + c.ldapUrl() + "|" + c.ldapBindDn() + "|" + c.ldapBindPassword() + "|"
                + c.ldapBaseDn() + "|" + c.ldapFilter() + "|" + c.ldapTimeoutSeconds() + "|" + c.ldapPositiveTtlSeconds()
                + "|" + c.ldapNegativeTtlSeconds() + "|" + c.ldapThreads();
        if (key.equals(directoryKey)) {
            return;
        }
        // as with the verifier, the previous directory stays usable for the sessions that hold it
        directory = domains.isEmpty() ? null : new RecipientDirectory(
                new java.util.HashSet<>(domains.stream().map(d -> d.toLowerCase(java.util.Locale.ROOT)).toList()),
                c.ldapFilter(), new LdapSearch(c.ldapUrl(), c.ldapBindDn(), c.ldapBindPassword(), c.ldapBaseDn(),
                        c.ldapTimeoutSeconds()), Math.max(1, c.ldapThreads()), c.ldapPositiveTtlSeconds(),
                c.ldapNegativeTtlSeconds(), System::nanoTime, c.ldapUrl() + " under '" + c.ldapBaseDn() + "'");
        directoryKey = key;
        if (directory != null) {
            LOG.info("Recipients of {} are looked up in LDAP at {}", domains, directory.description());
        }
    }

    /** The filter chain in force, or null while no routing bundle provides one. */
    private FilterChain filterChain() {
        FilterChainProvider p = filterChains;
        if (p == null) {
            return null;
        }
        try {
            return p.current();
        } catch (RuntimeException | LinkageError e) {
            LOG.error("The routing filters' provider failed", e);
            return null;
        }
    }

    private static List<String> protocols(SmtpServerConfig c) {
        List<String> p = SmtpSettings.split(c.tlsProtocols());
        for (String v : p) {
            if (!v.equals("TLSv1.2") && !v.equals("TLSv1.3")) {
                throw new IllegalArgumentException("tlsProtocols: only TLSv1.2 and TLSv1.3 are allowed, not " + v);
            }
        }
        return p.isEmpty() ? List.of("TLSv1.3", "TLSv1.2") : p;
    }

    private Path resolve(String file) {
        Path p = Paths.get(file.trim());
        return p.isAbsolute() ? p : etc.resolve(p);
    }

    private void checkFiles() {
        try {
            tls.reloadIfChanged();
            recipients.reloadIfChanged();
            rates.sweep(Math.max(TimeUnit.MINUTES.toNanos(1), settings.authFailureWindowMillis() * 1_000_000L),
                    System.nanoTime());
        } catch (RuntimeException e) {
            LOG.error("Checking TLS and recipient files failed", e);
        }
    }

    /**
     * {@code ioThreads}, where 0 means one event loop per processor as Netty counts them (its own default would be two);
     * a negative value is passed on, and Netty refuses it at activation.
     */
    static int ioThreads(SmtpServerConfig config) {
        return config.ioThreads() == 0 ? io.netty.util.NettyRuntime.availableProcessors() : config.ioThreads();
    }

    /** The listening channel type of this server's event loops (epoll where available). */
    private Class<? extends ServerChannel> serverChannelType() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** Binds a listener of this server; its sessions use the server's current settings and services. */
    Channel bind(String address, int port, ListenerMode mode, String name) throws InterruptedException {
        Class<? extends ServerChannel> type = serverChannelType();
        ServerBootstrap b = new ServerBootstrap()
                .group(workers, workers)
                .channel(type)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SmtpSettings s = settings;
                        TlsCertificates t = tls;
                        SmtpFrameDecoder framer = new SmtpFrameDecoder(s.normalizeBareNewlines(), dataBudget);
                        ch.pipeline().addLast(LIMITER, limiter);
                        if (mode.implicitTls) {
                            SslHandler h = t.newHandler(ch.alloc());
                            if (h == null) {
                                LOG.warn("No TLS certificate: closing a connection to the implicit TLS listener {}:{}",
                                        address, port);
                                ch.close();
                                return;
                            }
                            ch.pipeline().addLast(TLS, h);
                        }
                        ch.pipeline()
                                .addLast(FRAMER, framer)
                                .addLast(SESSION, new SmtpSession(s, new SessionServices(spool, policy, mode, t, auth,
                                        rates, recipients, events, verifier, directory, SmtpServer.this::filterChain,
                                        name, spoolHealth), framer));
                    }
                });
        Channel c = b.bind(new InetSocketAddress(address, port)).sync().channel();
        LOG.info("Hermod SMTP {} listener on {} ({} transport, host name {}, TLS certificate {})",
                mode.name().toLowerCase(java.util.Locale.ROOT), c.localAddress(), epoll ? "epoll" : "nio",
                settings.hostname(), tls.available() ? "loaded" : "MISSING");
        return c;
    }

    @Modified
    void modified(SmtpServerConfig config) throws InterruptedException {
        SmtpSettings s = SmtpSettings.from(config);
        this.settings = s;
        limiter.update(s);
        dataBudget.setLimit(config.maxBufferedDataMb() * 1024 * 1024);
        auth.update(s.authRealm(), s.authRole());
        loadFiles(config);
        String to = config.bindAddress() + ":" + config.port();
        if (!Objects.equals(boundTo, to)) {
            server.close().syncUninterruptibly();
            server = bind(config.bindAddress(), config.port(), ListenerMode.MTA, "default");
            boundTo = to;
        }
        LOG.info("Hermod SMTP server settings updated");
    }

    @Deactivate
    void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        files.shutdownNow();
        auth.close();
        events.close();
        RecipientVerifier v = verifier;
        if (v != null) {
            v.close();
        }
        RecipientDirectory d = directory;
        if (d != null) {
            d.close();
        }
        workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The port actually bound (tests use port 0). */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }
}
