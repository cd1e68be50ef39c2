package org.hermod.eventlog;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only JSON Lines log: one JSON object per line, encoded by Jackson and written by one background thread, so
 * that callers (delivery threads, event loops) never touch the disk and never block. When the bounded queue is full
 * (the disk cannot keep up) events are dropped and counted, never waited for. The file is rotated by size
 * ({@code file.1} ... {@code file.N}, oldest dropped) and reopened when an external logrotate moves or truncates it.
 *
 * <p>Threading: {@link #append} and {@link #sync} from any thread; the writer thread runs the event's field writer.
 */
public final class JsonLinesLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JsonLinesLog.class);
    private static final JsonFactory JSON = JsonFactory.builder().build();
    /** Every this many lines, check whether the file was rotated away by someone else. */
    private static final int CHECK_EVERY = 64;

    /**
     * @param file where the log is written (its folder is created)
     * @param maxFileBytes rotate when the file passes this size; 0 disables size rotation
     * @param keepFiles how many rotated files to keep besides the current one
     * @param queueCapacity how many events may wait for the writer before new ones are dropped
     */
    public record Settings(Path file, long maxFileBytes, int keepFiles, int queueCapacity) {

        public Settings {
            if (maxFileBytes < 0 || keepFiles < 0 || queueCapacity < 1) {
                throw new IllegalArgumentException("maxFileBytes and keepFiles must be >= 0, queueCapacity >= 1");
            }
        }

        /** 64 MiB files, 5 rotated files kept, 100,000 events queued at most. */
        public static Settings of(Path file) {
            return new Settings(file, 64L << 20, 5, 100_000);
        }

        public Settings withRotation(long maxBytes, int keep) {
            return new Settings(file, maxBytes, keep, queueCapacity);
        }
    }

    /** Writes the fields of one event. Null values are written as JSON null. */
    public interface Fields {

        Fields string(String name, String value);

        Fields number(String name, long value);

        Fields bool(String name, boolean value);
    }

    private record Entry(Consumer<Fields> event, CompletableFuture<Void> synced) {
    }

    private static final Entry STOP = new Entry(null, null);

    private final Settings settings;
    private final BlockingQueue<Entry> queue;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong lines = new AtomicLong();
    private final Thread writer;
    private volatile boolean closed;
    private OutputStream out; // writer thread only
    private long size; // writer thread only: bytes in the current file as this writer knows it
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(512); // writer thread only

    public JsonLinesLog(Settings settings, String threadName) {
        this.settings = settings;
        this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
        this.writer = new Thread(this::run, threadName);
        writer.setDaemon(true);
        writer.start();
    }

    public Path file() {
        return settings.file();
    }

    /** Events dropped because the queue was full. */
    public long dropped() {
        return dropped.get();
    }

    /** Lines written so far. */
    public long written() {
        return lines.get();
    }

    /** Queues one event; never blocks and never throws (a full queue drops it and counts it). */
    public void append(Consumer<Fields> event) {
        if (closed || !queue.offer(new Entry(event, null))) {
            long n = dropped.incrementAndGet();
            if (n % 1000 == 1) {
                LOG.warn("event log {} cannot keep up; {} events dropped so far", settings.file(), n);
            }
        }
    }

    /** Completes once everything queued before it is written and flushed (for tools and tests). */
    public CompletableFuture<Void> sync() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (closed) {
            f.completeExceptionally(new IllegalStateException("event log " + settings.file() + " is closed"));
            return f;
        }
        try {
            if (!queue.offer(new Entry(null, f), 5, TimeUnit.SECONDS)) {
                f.completeExceptionally(new IllegalStateException("event log queue full"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.completeExceptionally(e);
        }
        return f;
    }

    private void run() {
        List<Entry> batch = new ArrayList<>();
        try {
            while (true) {
                batch.add(queue.take());
                queue.drainTo(batch, 10_000);
                boolean stop = false;
                List<CompletableFuture<Void>> synced = new ArrayList<>();
                for (Entry e : batch) {
                    if (e == STOP) {
                        stop = true; // what was queued before close is still written below
                        continue;
                    }
                    if (e.synced() != null) {
                        synced.add(e.synced());
                    } else {
                        write(e.event());
                    }
                }
                batch.clear();
                flush();
                synced.forEach(f -> f.complete(null));
                if (stop) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeFile();
            for (Entry e; (e = queue.poll()) != null; ) { // queued after close: not written
                if (e.synced() != null) {
                    e.synced().completeExceptionally(new IllegalStateException("event log closed"));
                } else if (e != STOP) {
                    dropped.incrementAndGet();
                }
            }
        }
    }

    private void write(Consumer<Fields> event) {
        try {
            if (out != null && lines.get() % CHECK_EVERY == 0 && flushed() && rotatedAway()) {
                closeFile(); // logrotate moved or truncated it: a new file under the configured name
            }
            if (out == null) {
                open();
            }
            line.reset(); // the whole line first: an event that fails half-way leaves nothing in the file
            try (JsonGenerator g = JSON.createGenerator(line, JsonEncoding.UTF8)) {
                g.setPrettyPrinter(new MinimalPrettyPrinter(""));
                g.writeStartObject();
                event.accept(new GeneratorFields(g));
                g.writeEndObject();
                g.writeRaw('\n');
            }
            line.writeTo(out);
            size += line.size();
            lines.incrementAndGet();
            if (settings.maxFileBytes() > 0 && size >= settings.maxFileBytes()) {
                rotate();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("event log {}: {}", settings.file(), e.toString());
            closeFile();
        }
    }

    private void open() throws IOException {
        Path f = settings.file();
        Path dir = f.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        out = new java.io.BufferedOutputStream(Files.newOutputStream(f, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND), 64 * 1024);
        size = Files.size(f);
    }

    /** file -> file.1 -> file.2 ... ; the oldest beyond keepFiles is deleted. */
    private void rotate() throws IOException {
        closeFile();
        Path f = settings.file();
        int keep = settings.keepFiles();
        if (keep == 0) {
            Files.deleteIfExists(f);
            return;
        }
        Files.deleteIfExists(numbered(keep));
        for (int i = keep - 1; i >= 1; i--) {
            if (Files.exists(numbered(i))) {
                Files.move(numbered(i), numbered(i + 1), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.move(f, numbered(1), StandardCopyOption.REPLACE_EXISTING);
    }

    private Path numbered(int i) {
        return settings.file().resolveSibling(settings.file().getFileName() + "." + i);
    }

    private boolean rotatedAway() {
        try {
            return !Files.exists(settings.file()) || Files.size(settings.file()) < size;
        } catch (IOException e) {
            return true;
        }
    }

    /** Flushes so that the file's size on disk can be compared with what was written; false when that failed. */
    private boolean flushed() {
        flush();
        return out != null;
    }

    private void flush() {
        if (out != null) {
            try {
                out.flush();
            } catch (IOException e) {
                LOG.warn("event log {}: {}", settings.file(), e.toString());
                closeFile();
            }
        }
    }

    private void closeFile() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.warn("closing {}: {}", settings.file(), e.toString());
            }
            out = null;
        }
    }

    /** Writes what is queued, then stops (waits at most 5 s). */
    @Override
    public void close() {
        closed = true;
        try {
            if (!queue.offer(STOP, 1, TimeUnit.SECONDS)) {
                writer.interrupt();
            }
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class GeneratorFields implements Fields {
        private final JsonGenerator g;

        GeneratorFields(JsonGenerator g) {
            this.g = g;
        }

        @Override
        public Fields string(String name, String value) {
            try {
                if (value == null) {
                    g.writeNullField(name);
                } else {
                    g.writeStringField(name, value);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return this;
        }

        @Override
        public Fields number(String name, long value) {
            try {
                g.writeNumberField(name, value);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return this;
        }

        @Override
        public Fields bool(String name, boolean value) {
            try {
                g.writeBooleanField(name, value);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return this;
        }
    }
}
