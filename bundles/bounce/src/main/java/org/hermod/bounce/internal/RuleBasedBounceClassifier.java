package org.hermod.bounce.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.internal.rules.RuleLoader;
import org.hermod.bounce.internal.rules.RuleSet;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default classifier (service.ranking 0): ordered rules from the operator file, then the bundled defaults.
 * The operator file is polled for changes on a scheduler thread; each reload builds a new immutable {@link RuleSet}
 * that is swapped in atomically, so a classification never waits and never sees a half-loaded rule set.
 * A bundle registering a {@link BounceClassifier} with a higher ranking takes over (consumers use greedy references).
 */
@Component(service = BounceClassifier.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "service.ranking:Integer=0")
@Designate(ocd = BounceConfig.class)
public class RuleBasedBounceClassifier implements BounceClassifier {

    private static final Logger LOG = LoggerFactory.getLogger(RuleBasedBounceClassifier.class);

    private final AtomicReference<RuleSet> rules = new AtomicReference<>(RuleLoader.load(null));
    private volatile Path ruleFile;
    private volatile FileTime lastSeen;
    private ScheduledExecutorService scheduler;
    private ScheduledFuture<?> poll;
    private BundleContext context;

    /** For OSGi. */
    public RuleBasedBounceClassifier() {
    }

    /** For tests and tools: the given operator file (may be null) over the defaults, no polling. */
    public RuleBasedBounceClassifier(Path ruleFile) {
        this.ruleFile = ruleFile;
        reload();
    }

    @Activate
    void activate(BundleContext ctx, BounceConfig config) {
        this.context = ctx;
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-bounce-rules");
            t.setDaemon(true);
            return t;
        });
        apply(config);
    }

    @Modified
    void modified(BounceConfig config) {
        apply(config);
    }

    @Deactivate
    void deactivate() {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    private synchronized void apply(BounceConfig config) {
        ruleFile = KarafPaths.resolve(config.rulesFile(), KarafPaths.etc(context), "hermod-bounce-rules.txt");
        lastSeen = null;
        reload();
        if (poll != null) {
            poll.cancel(false);
        }
        long every = Math.max(100, config.rulesPollMillis());
        poll = scheduler.scheduleWithFixedDelay(this::checkForChange, every, every, TimeUnit.MILLISECONDS);
    }

    /** Reloads when the rule file's modification time (or existence) changed. */
    public void checkForChange() {
        try {
            Path f = ruleFile;
            FileTime t = f != null && Files.exists(f) ? Files.getLastModifiedTime(f) : null;
            if (t == null ? lastSeen != null : !t.equals(lastSeen)) {
                reload();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("checking bounce rules file {}: {}", ruleFile, e.toString());
        }
    }

    /** Loads the operator file and the defaults and swaps the snapshot. */
    public synchronized void reload() {
        Path f = ruleFile;
        try {
            lastSeen = f != null && Files.exists(f) ? Files.getLastModifiedTime(f) : null;
        } catch (IOException e) {
            lastSeen = null;
        }
        RuleSet set = RuleLoader.load(f);
        for (String err : set.errors()) {
            LOG.warn("bounce rules: {}", err);
        }
        rules.set(set);
        LOG.info("bounce rules loaded: {} rules ({} errors), operator file {}", set.rules().size(),
                set.errors().size(), f);
    }

    public RuleSet rules() {
        return rules.get();
    }

    @Override
    public Classification classify(FailureInput failure) {
        return rules.get().classify(failure);
    }
}
