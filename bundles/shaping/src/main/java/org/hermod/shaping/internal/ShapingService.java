package org.hermod.shaping.internal;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Pool;
import org.hermod.api.shaping.Shaping;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.Site;
import org.hermod.api.shaping.WarmupStatus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Shaping} service: the egress model from the configuration, limits from the rules file by precedence,
 * then the strategy assigned to the site (a whiteboard of {@link ShapingStrategy} services by name, with state handed
 * over whenever the strategy serving a path changes), GCRA rate limiters per path, per site and per source in a
 * {@link ThrottleStore}, operator suspensions, and every change as an event (JSON lines log and an in-memory ring).
 *
 * <p>Threading: every method is thread-safe; the hot ones take no lock of their own beyond the rate-limiter cell's
 * and the strategy's. Strategies are ticked every {@code tickMillis} on one scheduler thread. Configuration changes
 * apply live and keep the rate counters and the strategies' state.
 */
@Component(service = Shaping.class, immediate = true, configurationPid = "org.hermod.shaping",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = ShapingConfig.class)
public final class ShapingService implements Shaping {

    private static final Logger LOG = LoggerFactory.getLogger(ShapingService.class);
    /** A suspension without a duration lasts until resumed: about ten years. */
    private static final Duration INDEFINITE = Duration.ofDays(3650);

    private final RulesSource rules;
    private final Clock clock;
    private final ThrottleStore store;
    private final BundleContext context;
    private final StrategyRegistry strategies = new StrategyRegistry();
    private final OperatorHolds holds = new OperatorHolds();
    private final WeightedChooser chooser = new WeightedChooser();
    private final Guard guard = new Guard();
    /** How long a handover waits at most for calls into strategies to return, and calls for a handover. */
    private static final long GATE_MILLIS = 5000;
    /** Keeps calls into strategies and handovers apart. */
    private final HandoverGate gate = new HandoverGate(GATE_MILLIS);
    private final EventRing ring;
    private final Map<String, Site> sites = new ConcurrentHashMap<>();
    private final Set<String> warnedMissing = ConcurrentHashMap.newKeySet();
    /** Pools a response rule's move names that the configuration lacks, warned about once. */
    private final Set<String> warnedPools = ConcurrentHashMap.newKeySet();
    private volatile EgressModel model;
    private volatile List<EgressSource> sourceList = List.of();
    private volatile List<Pool> poolList = List.of();
    /** What the rules and configuration say per destination and path, rebuilt when either changes. */
    private volatile PathViews views;
    /**
     * Moves on whenever a path's decision may have changed (an event: a strategy's change, an operator's hold or
     * resume, a warmup step; a state handover), so that no cached decision outlives it.
     */
    private final AtomicLong decisions = new AtomicLong();
    private volatile ShapingEventLog log;
    private final Warmup warmup = new Warmup(this::record);
    private volatile WarmupStore warmupStore;
    private String warmupDatabase;
    /** Serialises flushes, so an older snapshot of an entry never lands after a newer one. */
    private final Object flushLock = new Object();
    private final ScheduledExecutorService ticker;
    private ScheduledFuture<?> tickTask;
    private long tickMillis;

    @Activate
    public ShapingService(BundleContext context, ShapingConfig config, @Reference(name = "rules") RulesSource rules) {
        this(context, rules, Clock.systemUTC(), new LocalThrottleStore(), config, true);
    }

    /** For tests: the given clock and store, no ticker thread (call {@link #tick()}). */
    public ShapingService(RulesSource rules, Clock clock, ThrottleStore store, ShapingConfig config) {
        this(null, rules, clock, store, config, false);
    }

    private ShapingService(BundleContext context, RulesSource rules, Clock clock, ThrottleStore store,
                           ShapingConfig config, boolean tickThread) {
        this.context = context;
        this.rules = rules;
        this.clock = clock;
        this.store = store;
        this.ring = new EventRing(config.eventsKept());
        this.ticker = tickThread ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-shaping-tick");
            t.setDaemon(true);
            return t;
        }) : null;
        apply(config);
    }

    @Modified
    void modified(ShapingConfig config) {
        apply(config);
    }

    @Deactivate
    void deactivate() {
        if (ticker != null) {
            ticker.shutdownNow();
        }
        saveWarmup();
        ShapingEventLog l = log;
        if (l != null) {
            l.close();
        }
    }

    private synchronized void apply(ShapingConfig config) {
        EgressModel next = EgressModel.parse(config.sources(), config.pools(), config.defaultPool(),
                config.senderPools(), config.strategyAssignments());
        for (String e : next.errors()) {
            LOG.warn("shaping configuration: {}", e);
        }
        EgressModel before = model;
        boolean reassigned = before != null && !(before.providerStrategies().equals(next.providerStrategies())
                && before.siteStrategies().equals(next.siteStrategies())
                && before.defaultStrategy().equals(next.defaultStrategy()));
        sourceList = List.copyOf(next.sources().values());
        poolList = List.copyOf(next.pools().values());
        if (reassigned) {
            close(); // no strategy call under way sees the new assignment before the state has moved
            try {
                model = next;
                rebalance(strategies.all());
            } finally {
                gate.open();
            }
        } else {
            model = next;
        }
        ring.capacity(config.eventsKept());
        warnedMissing.clear();
        warnedPools.clear();
        Path file = KarafPaths.resolve(context, config.eventLog(), KarafPaths.data(context),
                "hermod/log/shaping-events.jsonl");
        if (log == null || !log.file().equals(file)) {
            ShapingEventLog old = log;
            log = new ShapingEventLog(file);
            if (old != null) {
                old.close();
            }
        }
        String database = config.warmupDatabase().strip().startsWith("memory:") ? config.warmupDatabase().strip()
                : KarafPaths.resolve(context, config.warmupDatabase(), KarafPaths.data(context), "hermod/derby")
                        .toString();
        if (warmupStore == null || !database.equals(warmupDatabase)) {
            saveWarmup();
            warmupDatabase = database;
            warmupStore = new DerbyWarmupStore(database);
            loadWarmup(warmupStore, KarafPaths.resolve(context, config.warmupStateFile(), KarafPaths.data(context),
                    "hermod/shaping/warmup.state"));
        }
        if (ticker != null && (tickTask == null || tickMillis != config.tickMillis())) {
            if (tickTask != null) {
                tickTask.cancel(false);
            }
            tickMillis = Math.max(100, config.tickMillis());
            tickTask = ticker.scheduleWithFixedDelay(this::tick, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
        }
    }

    // ---- strategies: the whiteboard and the handover ----

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindStrategy(ShapingStrategy s, Map<String, Object> props) {
        Object name = props.get(ShapingStrategy.NAME);
        if (!(name instanceof String) || ((String) name).isBlank()) {
            LOG.warn("shaping strategy {} has no {} property; ignored", s, ShapingStrategy.NAME);
            return;
        }
        addStrategy(s, (String) name, ranking(props), serviceId(props));
    }

    void unbindStrategy(ShapingStrategy s, Map<String, Object> props) {
        removeStrategy(s);
    }

    /** Registers a strategy and hands it the state of the paths it now serves. */
    public synchronized void addStrategy(ShapingStrategy s, String name, int ranking, long serviceId) {
        close(); // no strategy call under way sees the new strategy before the state has moved
        try {
            strategies.add(new StrategyRegistry.Bound(s, name, ranking, serviceId));
            rebalance(strategies.all());
        } finally {
            gate.open();
        }
        warnedMissing.remove(name);
        LOG.info("shaping strategy '{}' available (ranking {})", name, ranking);
    }

    /** Unregisters a strategy; the paths it served go, with their state, to the strategy that serves them now. */
    public synchronized void removeStrategy(ShapingStrategy s) {
        close();
        List<PathState> state;
        try {
            if (!strategies.remove(s)) {
                return;
            }
            state = guard.call("exportState", s::exportState, List.of());
            handOver(s, state, false);
        } finally {
            gate.open();
        }
        LOG.info("shaping strategy {} gone; {} path states handed over", s.getClass().getName(), state.size());
    }

    /**
     * Before the strategies or their assignment change and the state moves: closes the gate and waits until every
     * call into a strategy under way has returned, so that what those calls changed is in the state exported next;
     * calls arriving meanwhile wait until the gate opens and then find the new strategy with its state.
     */
    private void close() {
        if (!gate.close()) {
            LOG.warn("shaping: a strategy call still runs after {} ms; handing over without waiting for it",
                    GATE_MILLIS);
        }
    }

    /** Moves each path's state to the strategy that serves it now, from every strategy that holds it elsewhere. */
    private void rebalance(List<ShapingStrategy> from) {
        for (ShapingStrategy s : from) {
            handOver(s, guard.call("exportState", s::exportState, List.of()), true);
        }
    }

    private void handOver(ShapingStrategy from, List<PathState> states, boolean resetSource) {
        Map<ShapingStrategy, List<PathState>> byTarget = new IdentityHashMap<>();
        for (PathState st : states) {
            if (st == null || st.path() == null) {
                continue;
            }
            Site site = siteOf(st);
            ShapingStrategy target = assigned(site, st.extra().get("domain")).strategy();
            if (target != from) {
                byTarget.computeIfAbsent(target, k -> new ArrayList<>()).add(st);
            }
        }
        byTarget.forEach((target, list) -> {
            guard.run("importState", () -> target.importState(list));
            if (resetSource) {
                List<PathState> resets = new ArrayList<>();
                list.forEach(p -> resets.add(new PathState(p.path(), 1.0, null, null, Map.of())));
                guard.run("importState", () -> from.importState(resets));
            }
        });
        decisions.incrementAndGet();
    }

    private Site siteOf(PathState st) {
        Site known = sites.get(st.path().site());
        if (known != null) {
            return known;
        }
        String mx = st.extra().getOrDefault("mxHosts", "");
        return new Site(st.path().site(), st.extra().get("provider"),
                mx.isEmpty() ? List.of() : Arrays.asList(mx.split(",")));
    }

    private StrategyRegistry.Effective assigned(Site site, String domain) {
        String name = model.strategyFor(site, rules.rules().providerOf(site, domain));
        StrategyRegistry.Effective e = strategies.effective(name);
        if (!e.asAssigned() && warnedMissing.add(name)) {
            LOG.warn("shaping strategy '{}' is assigned but not installed; using '{}' meanwhile", name, e.name());
        }
        return e;
    }

    private static int ranking(Map<String, Object> props) {
        Object r = props.get(Constants.SERVICE_RANKING);
        return r instanceof Integer ? (Integer) r : 0;
    }

    private static long serviceId(Map<String, Object> props) {
        Object r = props.get(Constants.SERVICE_ID);
        return r instanceof Long ? (Long) r : 0L;
    }

    // ---- the Shaping service ----

    @Override
    public List<EgressSource> sources() {
        return sourceList;
    }

    @Override
    public List<Pool> pools() {
        return poolList;
    }

    @Override
    public String poolFor(String senderDomain) {
        return views().poolFor(senderDomain);
    }

    @Override
    public String providerOf(List<String> mxHosts, String domain) {
        return rules.rules().providerOf(mxHosts, domain);
    }

    /** The views of the rules, configuration and strategies in force (a new set when one of them changed). */
    private PathViews views() {
        PathViews v = views;
        Rules r = rules.rules();
        EgressModel m = model;
        long version = strategies.version();
        if (v == null || v.rules != r || v.model != m || v.strategies != version) {
            v = new PathViews(r, m, version, (site, domain) -> {
                sites.putIfAbsent(site.key(), site);
                return assigned(site, domain);
            }, store);
            views = v;
        }
        return v;
    }

    @Override
    public Optional<EgressSource> choose(String pool, Site site, String domain, Instant now) {
        PathViews v = views();
        EgressModel m = v.model;
        Pool p = m.pools().get(pool);
        if (p == null) {
            p = m.pools().get(m.defaultPool());
        }
        // A choice is not a send: delivery may ask again (another source, a later pump) before it starts the message,
        // so warmup counts when the message token is taken (acquireMessage), not here.
        List<Pool.Member> members = p.members();
        if (members.size() == 1) { // nothing to weigh
            String only = members.get(0).source();
            return eligible(v, only, site, domain, now) ? v.chosen(only) : Optional.empty();
        }
        return chooser.next(p, src -> eligible(v, src, site, domain, now)).flatMap(v::chosen);
    }

    /** A configured source whose path is not suspended and whose warmup cap (if any) has room. */
    private boolean eligible(PathViews v, String source, Site site, String domain, Instant now) {
        if (!v.model.sources().containsKey(source)) {
            return false;
        }
        PathViews.PathView pv = v.path(source, site, domain);
        return !decision(pv, now).suspendedAt(now) && (pv.warmup == null
                || warmup.hasRoom(pv.warmup, source, pv.to.warmupTarget, site.key(), now));
    }

    @Override
    public List<WarmupStatus> warmup(String source) {
        return warmup.status(rules.rules(), source == null || source.isBlank() ? null : source.strip(),
                clock.instant());
    }

    /**
     * Loads the stored warmup state; entries of a state file an earlier version wrote that the database lacks are
     * imported once (the file is then renamed to {@code *.migrated}).
     */
    private void loadWarmup(WarmupStore store, Path legacyFile) {
        Map<Warmup.Key, Warmup.Entry> stored;
        try {
            stored = new java.util.HashMap<>(store.load());
        } catch (Exception e) {
            LOG.warn("warmup state in {} not read, warmup starts afresh: {}", store.describe(), e.toString());
            warmup.restore(Map.of());
            return;
        }
        if (java.nio.file.Files.exists(legacyFile)) {
            try {
                Map<Warmup.Key, Warmup.Entry> imported = new java.util.HashMap<>(new WarmupStateFile(legacyFile).load());
                imported.keySet().removeAll(stored.keySet());
                store.save(imported);
                stored.putAll(imported);
                Path done = legacyFile.resolveSibling(legacyFile.getFileName() + ".migrated");
                java.nio.file.Files.move(legacyFile, done, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                LOG.info("warmup state file {} imported into {} ({} entries); renamed to {}", legacyFile,
                        store.describe(), imported.size(), done.getFileName());
            } catch (Exception e) {
                LOG.warn("warmup state file {} not imported (tried again at the next start): {}", legacyFile,
                        e.toString());
            }
        }
        warmup.restore(stored);
    }

    /** Flushes the warmup entries changed since the last flush (the ticker, a store change, deactivation). */
    private void saveWarmup() {
        WarmupStore store = warmupStore;
        if (store == null) {
            return;
        }
        synchronized (flushLock) {
            Map<Warmup.Key, Warmup.Entry> changed = warmup.takeChanged();
            if (changed.isEmpty()) {
                return;
            }
            try {
                store.save(changed);
            } catch (Exception e) {
                warmup.unsaved(changed); // tried again on the next tick
                LOG.warn("warmup state not saved to {}: {}", store.describe(), e.toString());
            }
        }
    }

    @Override
    public PathDecision decide(EgressPath path, Site site, String domain, Instant now) {
        return decision(views().path(path.source(), site, domain), now);
    }

    /** How long a decision is reused at most, for strategies whose state changes without an event. */
    static final Duration DECISION_MAX_AGE = Duration.ofSeconds(1);

    /**
     * The path's decision: the cached one while no event, hold or handover happened since, it is younger than
     * {@link #DECISION_MAX_AGE} and the suspension it holds has not ended; else made anew.
     */
    private PathDecision decision(PathViews.PathView pv, Instant now) {
        long generation = decisions.get();
        PathViews.Decision cached = pv.decision;
        if (cached != null && cached.generation() == generation && now.isBefore(cached.expires())) {
            return cached.decision();
        }
        PathDecision d = makeDecision(pv, now);
        Instant expires = now.plus(DECISION_MAX_AGE);
        if (d.suspendedAt(now) && d.suspendedUntil().isBefore(expires)) {
            expires = d.suspendedUntil();
        }
        pv.decision = new PathViews.Decision(d, generation, expires);
        return d;
    }

    private PathDecision makeDecision(PathViews.PathView pv, Instant now) {
        EgressPath path = pv.path;
        Limits configured = pv.configured;
        ShapingStrategy s = pv.to.strategy.strategy();
        PathDecision d;
        gate.enter();
        try {
            d = guard.call("decide", () -> s.decide(path, pv.to.site, configured, now), PathDecision.of(configured));
        } finally {
            gate.exit();
        }
        if (d.divertToPool() != null && !model.pools().containsKey(d.divertToPool())) {
            // The rules file is parsed without the configuration, so a move to a pool that is not configured is
            // caught here: logged once per pool (until the configuration changes), and the mail stays on its path.
            if (warnedPools.add(d.divertToPool())) {
                LOG.warn("shaping: a response rule's move sends {} to pool '{}', which is not configured (pools in"
                        + " org.hermod.shaping.cfg: {}); the mail stays on its path", path, d.divertToPool(),
                        model.pools().keySet());
            }
            d = new PathDecision(d.limits(), d.suspendedUntil(), d.because(), null, d.bounceReason());
        }
        Instant hold = holds.until(path, now);
        if (hold != null && (d.suspendedUntil() == null || hold.isAfter(d.suspendedUntil()))) {
            return new PathDecision(d.limits(), hold, holds.reason(path, now), d.divertToPool(), d.bounceReason());
        }
        return d;
    }

    @Override
    public int maxSiteConnections(Site site, String domain) {
        return views().domain(site, domain).siteTotals.maxConnections();
    }

    @Override
    public int maxSourceConnections(String source) {
        return views().sourceTotals(source).maxConnections();
    }

    @Override
    public Duration acquireMessage(EgressPath path, Site site, String domain, Instant now) {
        PathViews.PathView pv = views().path(path.source(), site, domain);
        WarmupPlan plan = pv.warmup;
        String target = pv.to.warmupTarget;
        if (plan != null && !warmup.hasRoom(plan, path.source(), target, site.key(), now)) {
            return WARMUP_RECHECK; // today's (or this hour's) cap is used up: another source of the pool takes it
        }
        Duration wait = acquire(pv, now, false);
        if (plan != null && wait.isZero()) {
            warmup.count(plan, path.source(), target, site.key(), now); // the message starts on this source now
        }
        return wait;
    }

    /** When a source whose warmup cap is used up is asked again (the cap opens at the next hour or day). */
    static final Duration WARMUP_RECHECK = Duration.ofMinutes(1);

    @Override
    public Duration acquireConnection(EgressPath path, Site site, String domain, Instant now) {
        return acquire(views().path(path.source(), site, domain), now, true);
    }

    /** One token of the path, its site and its source (message or connection rate), all or none. */
    private Duration acquire(PathViews.PathView pv, Instant now, boolean connection) {
        PathDecision d = decision(pv, now);
        if (d.suspendedAt(now)) {
            return Duration.between(now, d.suspendedUntil());
        }
        Limits l = d.limits();
        Rules.Totals site = pv.to.siteTotals;
        Rules.Totals source = pv.sourceTotals;
        return connection
                ? pv.connections.take(l.connectionsPerSecond(), site.connectionsPerSecond(),
                        source.connectionsPerSecond(), now)
                : pv.messages.take(l.messagesPerSecond(), site.messagesPerSecond(), source.messagesPerSecond(), now);
    }

    @Override
    public void feedback(Feedback f) {
        List<ShapingEvent> events;
        gate.enter(); // before the strategy is looked up: a handover waits for this call
        try {
            PathViews.PathView pv = views().path(f.path().source(), f.site(), f.domain());
            ShapingStrategy s = pv.to.strategy.strategy();
            if (f.result() == Feedback.Result.DELIVERED && pv.warmup != null) {
                warmup.delivered(f.path().source(), pv.to.warmupTarget, f.time());
            }
            Limits configured = pv.configured;
            events = guard.call("onFeedback", () -> s.onFeedback(f, configured), List.<ShapingEvent>of());
        } finally {
            gate.exit();
        }
        for (ShapingEvent e : events) {
            record(e);
        }
    }

    @Override
    public Explanation explain(EgressPath path, Site site, String domain) {
        Rules.Resolved r = rules.rules().resolve(site, domain, path.source());
        String name = model.strategyFor(site, rules.rules().providerOf(site, domain));
        StrategyRegistry.Effective e = strategies.effective(name);
        String strategy = e.asAssigned() ? name : e.name() + " (assigned '" + name + "' is not installed)";
        return new Explanation(r.limits(), r.origins(), strategy);
    }

    @Override
    public List<ShapingEvent> events(String site, String source, int limit) {
        return ring.newest(site, source, limit);
    }

    @Override
    public List<PathState> state() {
        List<PathState> out = new ArrayList<>();
        for (ShapingStrategy s : strategies.all()) {
            out.addAll(guard.call("exportState", s::exportState, List.of()));
        }
        Instant now = clock.instant();
        for (OperatorHolds.Hold h : holds.all()) {
            if (now.isBefore(h.until())) {
                out.add(new PathState(holdPath(h.target()), 1.0, h.until(), "operator: " + h.reason(), Map.of()));
            }
        }
        return out;
    }

    @Override
    public ShapingEvent suspend(String target, Duration duration, String reason) {
        Instant now = clock.instant();
        Duration d = duration == null || duration.isZero() || duration.isNegative() ? INDEFINITE : duration;
        String key = holdKey(target);
        String why = reason == null || reason.isBlank() ? "by operator" : reason;
        holds.put(new OperatorHolds.Hold(key, now.plus(d), why));
        ShapingEvent e = new ShapingEvent(now, holdPath(key), "operator", "operator",
                "suspend " + (d == INDEFINITE ? "until resumed" : Rules.duration(d)), null, null, List.of(why),
                now.plus(d));
        record(e);
        return e;
    }

    @Override
    public synchronized Optional<ShapingEvent> resume(String target) {
        Instant now = clock.instant();
        String key = holdKey(target);
        OperatorHolds.Hold h = holds.remove(key);
        EgressPath p = holdPath(key);
        boolean lifted = false;
        close(); // a feedback under way must not be overwritten by the re-imported state
        try {
            for (ShapingStrategy s : strategies.all()) {
                List<PathState> lift = new ArrayList<>();
                for (PathState st : guard.call("exportState", s::exportState, List.<PathState>of())) {
                    if (st.suspendedUntil() != null && now.isBefore(st.suspendedUntil()) && covers(p, st.path())) {
                        lift.add(new PathState(st.path(), st.factor(), null, st.reason(), st.extra()));
                    }
                }
                if (!lift.isEmpty()) {
                    lifted = true;
                    guard.run("importState", () -> s.importState(lift));
                }
            }
        } finally {
            gate.open();
        }
        decisions.incrementAndGet();
        if (h == null && !lifted) {
            return Optional.empty();
        }
        ShapingEvent e = new ShapingEvent(now, p, "operator", "operator", "resume", null, null, List.of(), null);
        record(e);
        return Optional.of(e);
    }

    private static boolean covers(EgressPath target, EgressPath p) {
        return (target.source().equals("*") || target.source().equals(p.source()))
                && (target.site().equals("*") || target.site().equalsIgnoreCase(p.site()));
    }

    /** {@code src->site}: a path; a configured source name: the source; anything else: a site key. */
    private String holdKey(String target) {
        String t = Objects.requireNonNull(target, "target").strip();
        if (t.contains("->")) {
            return "path:" + t;
        }
        return model.sources().containsKey(t) ? "source:" + t : "site:" + t;
    }

    /** The path an operator hold is shown with: {@code *} for "every source" or "every site". */
    private static EgressPath holdPath(String key) {
        if (key.startsWith("path:")) {
            String t = key.substring(5);
            int arrow = t.indexOf("->");
            return new EgressPath(t.substring(0, arrow), t.substring(arrow + 2));
        }
        if (key.startsWith("source:")) {
            return new EgressPath(key.substring(7), "*");
        }
        return new EgressPath("*", key.substring(5));
    }

    /** Recovery steps, ends of suspensions, ends of operator holds; run by the ticker (tests call it). */
    public void tick() {
        Instant now = clock.instant();
        Set<ShapingStrategy> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<ShapingEvent> events = new ArrayList<>();
        gate.enter();
        try {
            for (ShapingStrategy s : strategies.all()) {
                if (seen.add(s)) {
                    events.addAll(guard.call("tick", () -> s.tick(now), List.<ShapingEvent>of()));
                }
            }
        } finally {
            gate.exit();
        }
        events.forEach(this::record);
        for (OperatorHolds.Hold h : holds.expire(now)) {
            record(new ShapingEvent(now, holdPath(h.target()), "operator", "operator hold over", "resume", null, null,
                    List.of(h.reason()), null));
        }
        saveWarmup();
    }

    private void record(ShapingEvent e) {
        if (e == null) {
            return;
        }
        decisions.incrementAndGet(); // a change: no cached decision survives it
        ring.add(e);
        noteNegative(e);
        ShapingEventLog l = log;
        if (l != null) {
            l.append(e);
        }
        LOG.info("shaping {} {}: {} ({})", e.path(), e.action(), e.rule(), e.strategy());
    }

    /**
     * A strategy's decrease or suspension of a path is the provider's negative signal to that source: it holds back the
     * source's warmup towards the provider for {@link Warmup#HOLD}.
     */
    private void noteNegative(ShapingEvent e) {
        String strategy = e.strategy();
        String action = e.action() == null ? "" : e.action();
        if (e.path() == null || "*".equals(e.path().source()) || "operator".equals(strategy)
                || Warmup.STRATEGY.equals(strategy) || !(action.startsWith("decrease") || action.startsWith("suspend"))) {
            return;
        }
        Site site = sites.get(e.path().site());
        String provider = site == null ? null : rules.rules().providerOf(site, null);
        warmup.negative(e.path().source(), Warmup.target(provider, e.path().site()), e.time(),
                action + " by " + strategy + (e.rule() == null ? "" : " (" + e.rule() + ")"));
    }

    /** For tests: waits until the event log has written what was recorded. */
    public void syncLog() throws Exception {
        log.sync().get(10, TimeUnit.SECONDS);
    }

    /** For the console: the strategy names present. */
    public Set<String> strategyNames() {
        return strategies.names();
    }
}
