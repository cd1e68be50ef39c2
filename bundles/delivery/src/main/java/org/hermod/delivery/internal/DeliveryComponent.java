package org.hermod.delivery.internal;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.ReturnPathCodec;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.delivery.DeliveryListener;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.api.spool.Spool;
import org.hermod.delivery.internal.dns.MxResolver;
import org.hermod.delivery.internal.smtp.ConnectionPool;
import org.hermod.delivery.internal.smtp.SmtpClient;
import org.hermod.api.delivery.EgressView;
import org.hermod.api.shaping.Shaping;
import org.hermod.delivery.internal.egress.SiteDirectory;
import org.hermod.delivery.internal.egress.StaticShaping;
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

/**
 * The delivery service: wires resolver, SMTP client, connection pool, dispatcher, accounting and bounces together and
 * keeps them in step with the configuration ({@code etc/org.hermod.delivery.cfg}). Everything but {@code ioThreads}
 * applies live on a configuration change (a new DNS resolver is built when the DNS settings change).
 */
@Component(configurationPid = "org.hermod.delivery", configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true,
        service = EgressView.class)
@Designate(ocd = DeliveryConfig.class)
public final class DeliveryComponent implements EgressView {

    private static final Logger LOG = LoggerFactory.getLogger(DeliveryComponent.class);

    private final AttemptRecorder recorder = new AttemptRecorder();
    private final String karafData;
    private final String karafEtc;
    private ThreadPoolExecutor tlsFetches;
    private TlsSetup tls;
    private final DeliveryQueue queue;
    private final Spool spool;
    private volatile DeliverySettings settings;
    private volatile MxResolver resolver;
    private ThreadPoolExecutor io;
    private ScheduledExecutorService scheduler;
    private SmtpClient client;
    private ConnectionPool pool;
    private DestinationLimits limits;
    private volatile Dispatcher dispatcher;
    private AccountingLog accounting;
    private volatile Warmup warmup;

    /** VERP return paths (bounce bundle); used when present, its bounce domain is set and {@code verp} is on. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ReturnPathCodec returnPaths;

    /** Suppressed addresses (bounce bundle); when present and {@code suppressionCheck} is on, they fail before sending. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile SuppressionList suppression;

    /** Traffic shaping (bundle hermod-shaping); without it delivery uses {@link StaticShaping}. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile Shaping shapingService;

    /** The routing bundle's filter chains: their pre-delivery stage is asked before each attempt. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile org.hermod.api.filter.FilterChainProvider filterChains;

    /** The spool's queue manager: a pre-delivery HOLD puts the message on hold through it. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile org.hermod.api.spool.QueueManager queueManager;

    private StaticShaping staticShaping;
    private SiteDirectory sites;

    @Override
    public java.util.Optional<org.hermod.api.shaping.Site> siteOf(String domain) {
        return java.util.Optional.ofNullable(sites.known(domain.toLowerCase(java.util.Locale.ROOT)));
    }

    @Override
    public java.util.Map<String, java.util.List<String>> domainsBySite() {
        return sites.domainsBySite();
    }

    @Override
    public java.util.Map<String, Integer> waitingByPoolAndSite() {
        return dispatcher.waitingByPath();
    }

    @Override
    public java.util.Map<String, Integer> activeByPath() {
        return limits.activeByKey();
    }

    /** The shaping service when installed, else the static one. */
    Shaping shaping() {
        Shaping s = shapingService;
        return s != null ? s : staticShaping;
    }

    @Activate
    public DeliveryComponent(BundleContext context, DeliveryConfig config, @Reference(name = "queue") DeliveryQueue queue,
                             @Reference(name = "spool") Spool spool) {
        this.karafData = context.getProperty("karaf.data");
        this.karafEtc = context.getProperty("karaf.etc");
        this.queue = queue;
        this.spool = spool;
        this.settings = DeliverySettings.from(config, localHostName());
        TlsSetup.Settings tlsSettings = tlsSettings(config, settings);
        start(tlsSettings);
        if (config.warmup()) {
            Warmup w = new Warmup(client);
            warmup = w;
            Thread t = new Thread(() -> w.run().thenAccept(n -> LOG.debug("delivery warm-up: {} messages", n)),
                    "hermod-delivery-warmup-start");
            t.setDaemon(true);
            t.start();
        }
    }

    private TlsSetup.Settings tlsSettings(DeliveryConfig config, DeliverySettings s) {
        try {
            return TlsSetup.Settings.from(config, s, karafEtc, karafData);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid delivery configuration (org.hermod.delivery): " + e.getMessage(), e);
        }
    }

    private void start(TlsSetup.Settings tlsSettings) {
        DeliverySettings s = settings;
        AtomicInteger n = new AtomicInteger();
        io = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "hermod-delivery-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-delivery-dispatch");
            t.setDaemon(true);
            return t;
        });
        resolver = newResolver(s);
        client = new SmtpClient(s.ioThreads());
        pool = new ConnectionPool(s.maxMessagesPerConnection(), s.idleTimeout(), s.maxConnectionsPerDomain());
        limits = new DestinationLimits(s.maxConnections());
        accounting = newAccountingLog(s);
        recorder.accountingLog(accounting);
        Deliverer deliverer = new Deliverer(() -> settings, () -> resolver, client, pool, recorder, () -> spool, io,
                () -> returnPaths, () -> suppression);
        staticShaping = new StaticShaping(() -> settings);
        deliverer.shaping(this::shaping);
        deliverer.filters(() -> filterChains, () -> queueManager);
        // MTA-STS policy fetches block (HTTPS): at most two at a time, off the delivery and I/O threads
        tlsFetches = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "hermod-delivery-mta-sts-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        tlsFetches.allowCoreThreadTimeOut(true);
        tls = new TlsSetup(() -> resolver, tlsFetches, io);
        tls.configure(tlsSettings);
        deliverer.tlsPolicies(tls);
        scheduler.scheduleWithFixedDelay(tls::poll, 2, 2, TimeUnit.SECONDS);
        sites = new SiteDirectory(() -> resolver, (mx, domain) -> shaping().providerOf(mx, domain), () -> {
            Dispatcher d = dispatcher;
            if (d != null) {
                d.wake();
            }
        });
        dispatcher = new Dispatcher(queue, deliverer, limits, scheduler, this::shaping, sites,
                pool::idleCount);
        scheduler.scheduleWithFixedDelay(pool::reap, 1, 1, TimeUnit.SECONDS);
        dispatcher.start();
        LOG.info("delivery started: port {}, helo {}, {} transport, dns {}, accounting {}, verp {}, delay notice {}, "
                        + "suppression check {}", s.smtpPort(), s.heloName(), client.usesEpoll() ? "epoll" : "nio",
                s.dnsServers().isEmpty() ? "system" : s.dnsServers(), accounting == null ? "off" : accounting.file(),
                s.verp() ? "on when a bounce domain is set" : "off",
                s.delayNotice().isZero() ? "off" : "after " + Durations.format(s.delayNotice()),
                s.suppressionCheck() ? "on when the suppression list is present" : "off");
    }

    @Modified
    void modified(DeliveryConfig config) {
        DeliverySettings old = settings;
        DeliverySettings s = DeliverySettings.from(config, localHostName());
        TlsSetup.Settings tlsSettings = tlsSettings(config, s);
        if (!s.dnsServers().equals(old.dnsServers()) || !s.dnsTimeout().equals(old.dnsTimeout())
                || s.dnsCacheSize() != old.dnsCacheSize() || s.preferIPv6() != old.preferIPv6()) {
            resolver = newResolver(s);
        }
        pool.configure(s.maxMessagesPerConnection(), s.idleTimeout(), s.maxConnectionsPerDomain());
        limits.globalMax(s.maxConnections());
        if (!Objects.equals(s.accountingLog(), old.accountingLog())) {
            AccountingLog previous = accounting;
            accounting = newAccountingLog(s);
            recorder.accountingLog(accounting);
            if (previous != null) {
                previous.close();
            }
        }
        if (s.ioThreads() != old.ioThreads()) {
            LOG.info("ioThreads changes apply when the delivery bundle restarts");
        }
        settings = s;
        tls.configure(tlsSettings);
        dispatcher.wake();
        LOG.info("delivery configuration updated");
    }

    @Deactivate
    void deactivate() {
        Warmup w = warmup;
        if (w != null) {
            w.stop();
        }
        dispatcher.stop(5000);
        pool.closeAll();
        scheduler.shutdownNow();
        client.close();
        tlsFetches.shutdownNow();
        io.shutdown();
        try {
            io.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (accounting != null) {
            accounting.close();
        }
        // STACK.md gotcha 4: dnsjava's NIO selector thread must be stopped, or Karaf's shutdown hangs
        org.xbill.DNS.NioClient.close();
        LOG.info("delivery stopped");
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindClassifier(BounceClassifier c) {
        recorder.classifier(c);
    }

    void unbindClassifier(BounceClassifier c) {
        if (recorder.classifier() == c) {
            recorder.classifier(null);
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(DeliveryListener l) {
        recorder.addListener(l);
    }

    void removeListener(DeliveryListener l) {
        recorder.removeListener(l);
    }

    private MxResolver newResolver(DeliverySettings s) {
        return new MxResolver(s.dnsServers(), s.dnsTimeout(), s.dnsCacheSize(), s.preferIPv6(), io);
    }

    private AccountingLog newAccountingLog(DeliverySettings s) {
        Path p;
        if (!s.accountingLog().isEmpty()) {
            p = Path.of(s.accountingLog());
        } else if (karafData != null) {
            p = Path.of(karafData, "hermod", "log", "delivery.jsonl");
        } else {
            LOG.warn("karaf.data is not set and no accountingLog configured: no accounting log");
            return null;
        }
        // an ESP's record of every attempt: large files, ten of them kept (about 2.5 GiB at most)
        return new AccountingLog(org.hermod.eventlog.JsonLinesLog.Settings.of(p).withRotation(256L << 20, 10));
    }

    private static String localHostName() {
        try {
            String h = InetAddress.getLocalHost().getHostName();
            return h == null || h.isBlank() ? "localhost" : h;
        } catch (Exception e) {
            return "localhost";
        }
    }
}
