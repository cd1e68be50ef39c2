package org.hermod.shaping.internal;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rules file ({@code rulesFile}, default {@code ${karaf.etc}/hermod-shaping.rules}), polled for changes: each
 * reload builds a new immutable {@link Rules} and swaps it in, so readers never wait and never see half a file. A file
 * that is missing gives the built-in defaults; lines with errors are logged and skipped.
 */
@Component(service = RulesSource.class, configurationPid = "org.hermod.shaping",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class RulesFile implements RulesSource {

    private static final Logger LOG = LoggerFactory.getLogger(RulesFile.class);

    private volatile Rules rules = Rules.empty();
    private volatile Path file;
    private volatile FileTime lastSeen;
    private BundleContext context;
    private ScheduledExecutorService scheduler;
    private ScheduledFuture<?> poll;

    /** For OSGi. */
    public RulesFile() {
    }

    /** For tests: this file, loaded now, no polling ({@link #checkForChange()} by hand). */
    public RulesFile(Path file) {
        this.file = file;
        reload();
    }

    @Activate
    void activate(BundleContext ctx, ShapingConfig config) {
        context = ctx;
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-shaping-rules");
            t.setDaemon(true);
            return t;
        });
        apply(config);
    }

    @Modified
    void modified(ShapingConfig config) {
        apply(config);
    }

    @Deactivate
    void deactivate() {
        scheduler.shutdownNow();
    }

    private synchronized void apply(ShapingConfig config) {
        Path f = KarafPaths.resolve(context, config.rulesFile(), KarafPaths.etc(context), "hermod-shaping.rules");
        if (!f.equals(file)) {
            file = f;
            lastSeen = null;
            reload();
        }
        if (poll != null) {
            poll.cancel(false);
        }
        long every = Math.max(100, config.rulesPollMillis());
        poll = scheduler.scheduleWithFixedDelay(this::checkForChange, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public Rules rules() {
        return rules;
    }

    public Path file() {
        return file;
    }

    /** Reloads when the file's modification time (or existence) changed. */
    public void checkForChange() {
        try {
            Path f = file;
            FileTime t = f != null && Files.exists(f) ? Files.getLastModifiedTime(f) : null;
            if (t == null ? lastSeen != null : !t.equals(lastSeen)) {
                reload();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("checking shaping rules file {}: {}", file, e.toString());
        }
    }

    /** Loads the file now and swaps the snapshot. */
    public synchronized void reload() {
        Path f = file;
        Rules next;
        try {
            lastSeen = f != null && Files.exists(f) ? Files.getLastModifiedTime(f) : null;
            if (lastSeen == null) {
                next = Rules.empty();
            } else {
                try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                    next = RulesParser.parse(f.getFileName().toString(), r);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("shaping rules file {} not loaded, keeping version {}: {}", f, rules.version(), e.toString());
            return;
        }
        for (String err : next.errors()) {
            LOG.warn("shaping rules: {}", err);
        }
        rules = next;
        LOG.info("shaping rules {} loaded: version {}, {} providers, {} response rules, {} errors", f, next.version(),
                next.providers().size(), next.responses().size(), next.errors().size());
    }
}
