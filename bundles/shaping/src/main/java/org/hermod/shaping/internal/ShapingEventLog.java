package org.hermod.shaping.internal;

import java.nio.file.Path;

import org.hermod.api.shaping.ShapingEvent;
import org.hermod.eventlog.JsonLinesLog;

/**
 * The shaping event log ({@code shaping-events.jsonl}): one JSON object per automatic or operator change, written by
 * the shared event-log writer off the calling thread (dropped and counted, never waited for, when the disk lags).
 */
final class ShapingEventLog implements AutoCloseable {

    private final JsonLinesLog log;

    ShapingEventLog(Path file) {
        this.log = new JsonLinesLog(JsonLinesLog.Settings.of(file), "hermod-shaping-events");
    }

    Path file() {
        return log.file();
    }

    void append(ShapingEvent e) {
        log.append(f -> f.string("time", e.time() == null ? null : e.time().toString())
                .string("source", e.path() == null ? null : e.path().source())
                .string("site", e.path() == null ? null : e.path().site())
                .string("strategy", e.strategy())
                .string("rule", e.rule())
                .string("action", e.action())
                .string("before", e.before() == null ? null : e.before().toString())
                .string("after", e.after() == null ? null : e.after().toString())
                .string("reconsiderAt", e.reconsiderAt() == null ? null : e.reconsiderAt().toString())
                .string("reply1", e.replies().size() > 0 ? e.replies().get(0) : null)
                .string("reply2", e.replies().size() > 1 ? e.replies().get(1) : null)
                .string("reply3", e.replies().size() > 2 ? e.replies().get(2) : null));
    }

    java.util.concurrent.CompletableFuture<Void> sync() {
        return log.sync();
    }

    @Override
    public void close() {
        log.close();
    }
}
