package org.hermod.bounce.internal;

import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

import org.hermod.api.bounce.Classification;
import org.hermod.eventlog.JsonLinesLog;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bounce event log: one JSON object per line ({@code ${karaf.data}/hermod/log/bounce-events.jsonl}), written by the
 * shared event-log writer ({@link JsonLinesLog}: a background thread, size-based rotation, reopened after an external
 * logrotate). Failures are logged, never thrown to callers.
 */
@Component(service = BounceEventLog.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class BounceEventLog {

    private static final Logger LOG = LoggerFactory.getLogger(BounceEventLog.class);

    private volatile JsonLinesLog log;
    private BundleContext context;

    /** For OSGi. */
    public BounceEventLog() {
    }

    /** For tests and tools. */
    public BounceEventLog(Path file) {
        this.log = open(file);
    }

    private static JsonLinesLog open(Path file) {
        return new JsonLinesLog(JsonLinesLog.Settings.of(file), "hermod-bounce-events");
    }

    @Activate
    void activate(BundleContext ctx, BounceConfig config) {
        context = ctx;
        log = open(fileOf(ctx, config));
    }

    /** Other settings of the PID change without a restart; the file is reopened only when its path changed. */
    @Modified
    synchronized void modified(BounceConfig config) {
        Path f = fileOf(context, config);
        JsonLinesLog old = log;
        if (old == null || !f.equals(old.file())) {
            log = open(f);
            if (old != null) {
                old.close();
            }
        }
    }

    /** The configured path; a relative one is resolved against {@code ${karaf.data}/hermod/log}. */
    static Path fileOf(BundleContext ctx, BounceConfig config) {
        return KarafPaths.resolve(config.eventLog(), KarafPaths.data(ctx).resolve("hermod").resolve("log"),
                "bounce-events.jsonl").toAbsolutePath();
    }

    @Deactivate
    synchronized void close() {
        JsonLinesLog l = log;
        if (l != null) {
            l.close();
        }
    }

    public Path file() {
        JsonLinesLog l = log;
        return l == null ? null : l.file();
    }

    /** Completes once every event written before it is on disk (for tools and tests). */
    public CompletableFuture<Void> sync() {
        JsonLinesLog l = log;
        return l == null ? CompletableFuture.completedFuture(null) : l.sync();
    }

    /** Appends one event; never throws. */
    public void write(String source, String queueId, String recipient, Classification c, int reply) {
        try {
            String time = Instant.now().toString();
            log.append(f -> f.string("time", time)
                    .string("source", source)
                    .string("queueId", queueId)
                    .string("recipient", recipient)
                    .string("category", c.category())
                    .string("permanence", c.permanent() ? "permanent" : "temporary")
                    .string("status", c.enhancedStatus())
                    .number("reply", reply)
                    .string("ruleId", c.trace().ruleId())
                    .string("ruleSource", c.trace().source()));
        } catch (RuntimeException e) {
            LOG.warn("bounce event not written: {}", e.toString());
        }
    }
}
