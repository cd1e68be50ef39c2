package org.hermod.routing.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.hermod.api.filter.ConnectFilter;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterAdmin;
import org.hermod.api.filter.FilterChain;
import org.hermod.api.filter.FilterChain.Stage;
import org.hermod.api.filter.FilterChainProvider;
import org.hermod.api.filter.MailFilter;
import org.hermod.api.filter.PreDeliveryFilter;
import org.hermod.api.filter.RcptFilter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.FrameworkWiring;
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
 * The filter whiteboard: every {@link ConnectFilter}, {@link MailFilter}, {@link RcptFilter}, {@link DataFilter} and
 * {@link PreDeliveryFilter} service, bound dynamically and greedily. Each bind, unbind, property change, enable or
 * disable builds a new immutable {@link ChainSnapshot} (under a lock) and publishes it in a volatile field, so
 * {@link #current()} is one volatile read. Keeps every version of a filter bundle in a {@link VersionArchive} and
 * rolls back along it.
 */
@Component(service = {FilterChainProvider.class, FilterAdmin.class}, configurationPid = "org.hermod.routing",
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
@Designate(ocd = RoutingConfig.class)
public final class FilterRegistry implements FilterChainProvider, FilterAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(FilterRegistry.class);

    private final Object lock = new Object();
    private final Map<Long, FilterEntry> entries = new HashMap<>();
    private final Map<String, FilterStats> stats = new ConcurrentHashMap<>();
    private final Map<String, CallLimit> limits = new ConcurrentHashMap<>();
    private final BundleContext context;
    private final FilterRunner runner;
    private final VersionArchive archive;
    private final DisabledFilters disabled;
    private final FilterEventLog events;
    private final ExecutorService archiver;
    private volatile long defaultTimeout;
    private volatile int maxConcurrent;
    private volatile int maxThreads;
    private volatile ChainSnapshot chain;

    @Activate
    public FilterRegistry(BundleContext context, RoutingConfig config) {
        this(context, config, dataDir(context));
    }

    /** For tests: state under {@code data} (filters/ and log/). */
    FilterRegistry(BundleContext context, RoutingConfig config, Path data) {
        this.context = context;
        this.runner = new FilterRunner(config.filterThreads(), config.filterMaxThreads());
        this.archive = new VersionArchive(data.resolve("filters"));
        this.disabled = new DisabledFilters(data.resolve("filters").resolve("disabled"));
        this.events = new FilterEventLog(data.resolve("log").resolve("filters.jsonl"));
        this.defaultTimeout = config.defaultTimeoutMillis();
        this.maxConcurrent = config.maxConcurrentPerFilter();
        this.maxThreads = config.filterMaxThreads();
        this.archiver = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "hermod-filter-archive");
            t.setDaemon(true);
            return t;
        });
        this.chain = new ChainSnapshot(List.of(), runner);
    }

    static Path dataDir(BundleContext ctx) {
        String d = ctx == null ? null : ctx.getProperty("karaf.data");
        Path base = d == null || d.isBlank() ? Paths.get(System.getProperty("java.io.tmpdir"), "hermod-karaf-data")
                : Paths.get(d);
        return base.resolve("hermod");
    }

    /**
     * A configuration change: pool sizes and the per-filter limits apply at once; the default budget applies to
     * filters bound afterwards. (Without this, DS would recreate the registry and drop the chain in use.)
     */
    @Modified
    void modified(RoutingConfig config) {
        runner.resize(config.filterThreads(), config.filterMaxThreads());
        defaultTimeout = config.defaultTimeoutMillis();
        maxConcurrent = config.maxConcurrentPerFilter();
        maxThreads = config.filterMaxThreads();
        limits.forEach((name, l) -> l.setLimit(limitOf(name)));
    }

    @Deactivate
    void deactivate() {
        archiver.shutdownNow();
        runner.close();
        events.close();
    }

    @Override
    public FilterChain current() {
        return chain;
    }

    /** The runner (tests: thread counts). */
    FilterRunner runner() {
        return runner;
    }

    // --- the whiteboard -------------------------------------------------------------------------------------------

    @Reference(service = ConnectFilter.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindConnect(ServiceReference<ConnectFilter> ref, ConnectFilter f) {
        bind(Stage.CONNECT, ref, f);
    }

    void updatedConnect(ServiceReference<ConnectFilter> ref) {
        updated(ref);
    }

    void unbindConnect(ServiceReference<ConnectFilter> ref) {
        unbind(Stage.CONNECT, ref);
    }

    @Reference(service = MailFilter.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindMail(ServiceReference<MailFilter> ref, MailFilter f) {
        bind(Stage.MAIL, ref, f);
    }

    void updatedMail(ServiceReference<MailFilter> ref) {
        updated(ref);
    }

    void unbindMail(ServiceReference<MailFilter> ref) {
        unbind(Stage.MAIL, ref);
    }

    @Reference(service = RcptFilter.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindRcpt(ServiceReference<RcptFilter> ref, RcptFilter f) {
        bind(Stage.RCPT, ref, f);
    }

    void updatedRcpt(ServiceReference<RcptFilter> ref) {
        updated(ref);
    }

    void unbindRcpt(ServiceReference<RcptFilter> ref) {
        unbind(Stage.RCPT, ref);
    }

    @Reference(service = DataFilter.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindData(ServiceReference<DataFilter> ref, DataFilter f) {
        bind(Stage.DATA, ref, f);
    }

    void updatedData(ServiceReference<DataFilter> ref) {
        updated(ref);
    }

    void unbindData(ServiceReference<DataFilter> ref) {
        unbind(Stage.DATA, ref);
    }

    @Reference(service = PreDeliveryFilter.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindPreDelivery(ServiceReference<PreDeliveryFilter> ref, PreDeliveryFilter f) {
        bind(Stage.PRE_DELIVERY, ref, f);
    }

    void updatedPreDelivery(ServiceReference<PreDeliveryFilter> ref) {
        updated(ref);
    }

    void unbindPreDelivery(ServiceReference<PreDeliveryFilter> ref) {
        unbind(Stage.PRE_DELIVERY, ref);
    }

    /** Adds a filter for a stage (tests call this directly with properties and the providing bundle). */
    void bind(Stage stage, Map<String, ?> props, Bundle bundle, Object filter) {
        FilterEntry fresh = entry(props, bundle);
        synchronized (lock) {
            FilterEntry old = entries.get(fresh.serviceId);
            entries.put(fresh.serviceId, (old == null ? fresh : old).with(stage, filter));
            rebuild();
        }
        if (bundle != null && bundle.getBundleId() != 0 && !bundle.equals(context == null ? null
                : context.getBundle())) {
            archiver.execute(() -> keep(bundle, fresh.name));
        }
    }

    void unbind(Stage stage, long serviceId) {
        synchronized (lock) {
            FilterEntry old = entries.get(serviceId);
            if (old != null) {
                FilterEntry rest = old.without(stage);
                if (rest == null) {
                    entries.remove(serviceId);
                } else {
                    entries.put(serviceId, rest);
                }
                rebuild();
            }
        }
    }

    void updated(Map<String, ?> props, Bundle bundle) {
        FilterEntry fresh = entry(props, bundle);
        synchronized (lock) {
            FilterEntry old = entries.get(fresh.serviceId);
            if (old != null) {
                entries.put(fresh.serviceId, old.withProperties(fresh));
                rebuild();
            }
        }
    }

    private void bind(Stage stage, ServiceReference<?> ref, Object filter) {
        bind(stage, properties(ref), ref.getBundle(), filter);
    }

    private void updated(ServiceReference<?> ref) {
        updated(properties(ref), ref.getBundle());
    }

    private void unbind(Stage stage, ServiceReference<?> ref) {
        unbind(stage, ((Number) ref.getProperty(org.osgi.framework.Constants.SERVICE_ID)).longValue());
    }

    private static Map<String, Object> properties(ServiceReference<?> ref) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : ref.getPropertyKeys()) {
            m.put(k, ref.getProperty(k));
        }
        return m;
    }

    private FilterEntry entry(Map<String, ?> props, Bundle bundle) {
        String name = FilterEntry.nameOf(props);
        FilterStats s = stats.computeIfAbsent(name, n -> new FilterStats());
        CallLimit l = limits.computeIfAbsent(name, n -> new CallLimit(limitOf(n)));
        return FilterEntry.of(props, bundle == null ? -1 : bundle.getBundleId(),
                bundle == null ? "-" : bundle.getSymbolicName(),
                bundle == null ? "-" : bundle.getVersion().toString(), defaultTimeout, l, builtIn(name, bundle), s);
    }

    /** The router of this bundle (of any bundle in tests without a context): threads are kept in reserve for it. */
    private boolean builtIn(String name, Bundle bundle) {
        return RuleRouter.NAME.equals(name) && (context == null || bundle != null
                && bundle.getBundleId() == context.getBundle().getBundleId());
    }

    private int limitOf(String name) {
        return RuleRouter.NAME.equals(name) ? Math.max(1, maxConcurrent)
                : FilterRunner.perFilterLimit(maxConcurrent, maxThreads);
    }

    /** Builds and publishes the chain of enabled filters; under the lock. */
    private void rebuild() {
        List<FilterEntry> ordered = sorted();
        ordered.removeIf(e -> disabled.contains(e.name));
        chain = new ChainSnapshot(ordered, runner);
        LOG.debug("filter chain now {}", chain);
    }

    private List<FilterEntry> sorted() {
        List<FilterEntry> all = new ArrayList<>(entries.values());
        all.sort(Comparator.comparingInt((FilterEntry e) -> e.ranking).reversed()
                .thenComparingLong(e -> e.serviceId));
        return all;
    }

    private void keep(Bundle bundle, String name) {
        try {
            if (archive.archive(bundle)) {
                LOG.info("filter {}: kept version {} of bundle {}", name, bundle.getVersion(),
                        bundle.getSymbolicName());
                events.append("kept", name, bundle.getSymbolicName(), null, bundle.getVersion().toString());
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("filter {}: cannot keep version {} of bundle {} for rollback: {}", name, bundle.getVersion(),
                    bundle.getSymbolicName(), e.toString());
        }
    }

    /** Waits until the archiving of bundles seen so far is done (tests). */
    void awaitArchived() throws Exception {
        archiver.submit(() -> { }).get();
    }

    // --- FilterAdmin ----------------------------------------------------------------------------------------------

    @Override
    public List<FilterInfo> filters() {
        List<FilterEntry> all;
        synchronized (lock) {
            all = sorted();
        }
        List<FilterInfo> out = new ArrayList<>();
        for (FilterEntry e : all) {
            out.add(new FilterInfo(e.name, e.bundle, e.version, e.bundleId, e.stages(), e.ranking,
                    !disabled.contains(e.name), e.stats.snapshot(), archive.versions(e.bundle)));
        }
        return out;
    }

    @Override
    public boolean disable(String name) {
        return enable(name, false);
    }

    @Override
    public boolean enable(String name) {
        return enable(name, true);
    }

    private boolean enable(String name, boolean on) {
        synchronized (lock) {
            if (!disabled.contains(name) && entries.values().stream().noneMatch(e -> e.name.equals(name))) {
                throw new IllegalArgumentException("no filter named " + name);
            }
            boolean changed = disabled.set(name, !on);
            if (changed) {
                rebuild();
            }
            if (changed) {
                events.append(on ? "enabled" : "disabled", name, null, null, null);
                LOG.info("filter {} {}", name, on ? "enabled" : "disabled");
            }
            return changed;
        }
    }

    @Override
    public Rollback rollback(String name) {
        FilterEntry e;
        synchronized (lock) {
            e = entries.values().stream().filter(x -> x.name.equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no filter named " + name));
        }
        Bundle b = context == null ? null : context.getBundle(e.bundleId);
        if (b == null || b.equals(context.getBundle())) {
            throw new IllegalStateException("filter " + name + " is built in (bundle " + e.bundle
                    + "); it has no versions of its own to roll back to");
        }
        try {
            archive.archive(b); // the current version, so that it can be gone back to by an update
        } catch (IOException ex) {
            LOG.warn("filter {}: cannot keep the current version {}: {}", name, e.version, ex.toString());
        }
        String from = b.getVersion().toString();
        VersionArchive.Kept prev = archive.previous(b.getSymbolicName(), from)
                .orElseThrow(() -> new IllegalStateException("filter " + name + ": no version of " + b.getSymbolicName()
                        + " older than " + from + " is kept (kept: " + archive.versions(b.getSymbolicName()) + ")"));
        try (InputStream in = Files.newInputStream(prev.jar())) {
            b.update(in);
        } catch (IOException | BundleException ex) {
            throw new IllegalStateException("filter " + name + ": update of " + b.getSymbolicName() + " to "
                    + prev.version() + " failed: " + ex.getMessage(), ex);
        }
        try {
            archive.rolledBack(b.getSymbolicName(), from, prev.version());
        } catch (IOException ex) {
            LOG.warn("filter {}: cannot note the rollback to {}: {}", name, prev.version(), ex.toString());
        }
        FrameworkWiring wiring = context.getBundle(0).adapt(FrameworkWiring.class);
        wiring.refreshBundles(List.of(b));
        events.append("rollback", name, b.getSymbolicName(), from, prev.version());
        LOG.info("filter {}: bundle {} rolled back from {} to {} at {}", name, b.getSymbolicName(), from,
                prev.version(), Instant.now());
        return new Rollback(name, b.getSymbolicName(), from, prev.version());
    }
}
