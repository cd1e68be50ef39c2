package org.hermod.routing.internal;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.osgi.framework.BundleContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rule router's file, polled for changes (modification time and size): a reload parses the whole file into a new
 * immutable {@link RoutingRules} and swaps it in; a file with an error is refused as a whole (the line and the error
 * are logged) and the previous rules stay. A missing file means no rules.
 */
final class RulesWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RulesWatcher.class);

    private final BundleContext context;
    private final Consumer<RoutingRules> onChange;
    private final ScheduledExecutorService scheduler;
    private volatile RoutingRules rules = RoutingRules.empty("(none)");
    private volatile String lastError;
    private Path file;
    private FileTime seenTime;
    private long seenSize = -1;
    private ScheduledFuture<?> poll;

    RulesWatcher(BundleContext context, Consumer<RoutingRules> onChange) {
        this.context = context;
        this.onChange = onChange;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-routing-rules");
            t.setDaemon(true);
            return t;
        });
    }

    /** For tests: watch this file (checked by {@link #check()}). */
    RulesWatcher(Path file) {
        this(null, r -> { });
        this.file = file;
        check();
    }

    RoutingRules rules() {
        return rules;
    }

    /** The error that made the last reload fail, or null when the rules in force are the file's. */
    String lastError() {
        return lastError;
    }

    synchronized void configure(RoutingConfig config) {
        Path f = resolve(config.rulesFile());
        if (!f.equals(file)) {
            file = f;
            seenTime = null;
            seenSize = -1;
            check();
        }
        if (poll != null) {
            poll.cancel(false);
        }
        long every = Math.max(100, config.rulesPollMillis());
        poll = scheduler.scheduleWithFixedDelay(this::check, every, every, TimeUnit.MILLISECONDS);
    }

    private Path resolve(String configured) {
        String etc = context == null ? null : context.getProperty("karaf.etc");
        Path base = etc == null ? Paths.get("etc") : Paths.get(etc);
        if (configured == null || configured.isBlank()) {
            return base.resolve("hermod-routing.rules");
        }
        Path p = Paths.get(configured.strip().replace("${karaf.etc}", base.toString()));
        return p.isAbsolute() ? p : base.resolve(p);
    }

    /** Reloads when the file changed (or appeared, or went away). */
    synchronized void check() {
        Path f = file;
        try {
            boolean exists = Files.exists(f);
            FileTime t = exists ? Files.getLastModifiedTime(f) : null;
            long size = exists ? Files.size(f) : -1;
            if (java.util.Objects.equals(t, seenTime) && size == seenSize) {
                return;
            }
            seenTime = t;
            seenSize = size;
            RoutingRules next;
            if (!exists) {
                next = RoutingRules.empty(f.toString());
            } else {
                try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                    next = RulesParser.parse(f.toString(), r);
                }
            }
            rules = next;
            lastError = null;
            LOG.info("routing rules {} loaded: {} rules, stages {}", f, next.size(), next.stages());
            onChange.accept(next);
        } catch (RulesParser.RulesException e) {
            lastError = e.getMessage();
            LOG.error("routing rules {} NOT loaded, the previous rules stay in force: {}", f, e.getMessage());
        } catch (IOException | RuntimeException e) {
            lastError = e.toString();
            LOG.error("routing rules {} NOT loaded, the previous rules stay in force: {}", f, e.toString());
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
