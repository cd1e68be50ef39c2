package org.hermod.bounce.internal;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

import org.hermod.api.bounce.Classification;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bounce event log: one JSON object per line ({@code ${karaf.data}/hermod/log/bounce-events.jsonl}). Writes are
 * synchronized and flushed per line; failures are logged, never thrown to callers.
 */
@Component(service = BounceEventLog.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class BounceEventLog {

    private static final Logger LOG = LoggerFactory.getLogger(BounceEventLog.class);

    /** Every this many writes, check whether the file was rotated away (renamed, deleted, truncated). */
    static final int CHECK_EVERY = 32;

    private volatile Path file;
    private BufferedWriter out;
    private BundleContext context;
    private int writes;
    private long written;

    /** For OSGi. */
    public BounceEventLog() {
    }

    /** For tests and tools. */
    public BounceEventLog(Path file) {
        this.file = file;
    }

    @Activate
    void activate(BundleContext ctx, BounceConfig config) {
        context = ctx;
        file = fileOf(ctx, config);
    }

    /** Other settings of the PID change without a restart; the file is reopened only when its path changed. */
    @Modified
    synchronized void modified(BounceConfig config) {
        Path f = fileOf(context, config);
        if (!f.equals(file)) {
            close();
            file = f;
        }
    }

    /** The configured path; a relative one is resolved against {@code ${karaf.data}/hermod/log}. */
    static Path fileOf(BundleContext ctx, BounceConfig config) {
        return KarafPaths.resolve(config.eventLog(), KarafPaths.data(ctx).resolve("hermod").resolve("log"),
                "bounce-events.jsonl").toAbsolutePath();
    }

    @Deactivate
    synchronized void close() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.warn("closing {}: {}", file, e.toString());
            }
            out = null;
        }
    }

    public Path file() {
        return file;
    }

    /** Appends one event; never throws. */
    public void write(String source, String queueId, String recipient, Classification c, int reply) {
        try {
            StringBuilder sb = new StringBuilder(256).append('{');
            field(sb, "time", Instant.now().toString()).append(',');
            field(sb, "source", source).append(',');
            field(sb, "queueId", queueId).append(',');
            field(sb, "recipient", recipient).append(',');
            field(sb, "category", c.category()).append(',');
            field(sb, "permanence", c.permanent() ? "permanent" : "temporary").append(',');
            field(sb, "status", c.enhancedStatus()).append(',');
            sb.append("\"reply\":").append(reply).append(',');
            field(sb, "ruleId", c.trace().ruleId()).append(',');
            field(sb, "ruleSource", c.trace().source()).append('}');
            append(sb.toString());
        } catch (RuntimeException e) {
            LOG.warn("bounce event not written: {}", e.toString());
        }
    }

    private synchronized void append(String line) {
        try {
            if (out != null && ++writes % CHECK_EVERY == 0 && rotated()) {
                close(); // logrotate moved or truncated it: start a new file under the configured name
            }
            if (out == null) {
                Path dir = file.toAbsolutePath().getParent();
                if (dir != null) {
                    Files.createDirectories(dir);
                }
                out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                written = Files.size(file);
            }
            out.write(line);
            out.write('\n');
            out.flush();
            written += line.getBytes(StandardCharsets.UTF_8).length + 1;
        } catch (IOException e) {
            LOG.warn("bounce event log {}: {}", file, e.toString());
            close();
        }
    }

    /** True when the file under the configured name is gone or shorter than what this writer wrote to it. */
    private boolean rotated() {
        try {
            return !Files.exists(file) || Files.size(file) < written;
        } catch (IOException e) {
            return true;
        }
    }

    private static StringBuilder field(StringBuilder sb, String name, String value) {
        sb.append('"').append(name).append("\":");
        if (value == null) {
            return sb.append("null");
        }
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"');
    }
}
