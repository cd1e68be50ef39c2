package org.hermod.delivery.internal;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.hermod.api.delivery.DeliveryEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The accounting log: one JSON object per line per delivery attempt, appended by a single background writer thread so
 * that delivery threads never touch the disk. When the queue is full (the disk cannot keep up) events are dropped and
 * counted rather than blocking delivery.
 */
public final class AccountingLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AccountingLog.class);
    private static final DeliveryEvent STOP = new DeliveryEvent(null, null, null, null, null, null, null, null, null, 0,
            null, null);

    private final Path file;
    private final BlockingQueue<DeliveryEvent> queue = new ArrayBlockingQueue<>(100_000);
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;

    public AccountingLog(Path file) {
        this.file = file;
        this.writer = new Thread(this::run, "hermod-delivery-accounting");
        writer.setDaemon(true);
        writer.start();
    }

    public Path file() {
        return file;
    }

    public void append(DeliveryEvent e) {
        if (!queue.offer(e)) {
            if (dropped.incrementAndGet() % 1000 == 1) {
                LOG.warn("accounting log {} cannot keep up; {} events dropped so far", file, dropped.get());
            }
        }
    }

    private void run() {
        BufferedWriter out = null;
        try {
            Files.createDirectories(file.getParent());
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            List<DeliveryEvent> batch = new ArrayList<>();
            while (true) {
                DeliveryEvent first = queue.take();
                batch.add(first);
                queue.drainTo(batch, 10_000);
                boolean stop = false;
                for (DeliveryEvent e : batch) {
                    if (e == STOP) {
                        stop = true;
                        break;
                    }
                    out.write(toJson(e));
                    out.write('\n');
                }
                batch.clear();
                out.flush();
                if (stop) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.error("accounting log {} failed; attempts are no longer recorded there", file, e);
        } finally {
            if (out != null) {
                try {
                    out.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    /** Stops after writing what is queued (waits at most 5 s). */
    @Override
    public void close() {
        try {
            if (!queue.offer(STOP, 1, TimeUnit.SECONDS)) {
                writer.interrupt();
            }
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String toJson(DeliveryEvent e) {
        StringBuilder sb = new StringBuilder(256).append('{');
        field(sb, "time", e.time() == null ? null : e.time().toString(), true);
        field(sb, "queueId", e.queueId(), false);
        field(sb, "sender", e.sender(), false);
        field(sb, "recipient", e.recipient(), false);
        field(sb, "domain", e.domain(), false);
        field(sb, "mxHost", e.mxHost(), false);
        field(sb, "mxAddress", e.mxAddress(), false);
        field(sb, "reply", e.reply() == null ? null : e.reply().toString(), false);
        field(sb, "outcome", e.outcome() == null ? null : e.outcome().name(), false);
        sb.append(",\"attempt\":").append(e.attempt());
        field(sb, "category", e.category(), false);
        field(sb, "ruleId", e.ruleId(), false);
        return sb.append('}').toString();
    }

    private static void field(StringBuilder sb, String name, String value, boolean first) {
        if (!first) {
            sb.append(',');
        }
        sb.append('"').append(name).append("\":");
        if (value == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
