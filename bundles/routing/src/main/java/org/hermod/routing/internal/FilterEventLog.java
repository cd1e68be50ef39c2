package org.hermod.routing.internal;

import java.nio.file.Path;
import java.time.Instant;

import org.hermod.eventlog.JsonLinesLog;

/**
 * The filter event log ({@code data/hermod/log/filters.jsonl}): versions kept, rollbacks, enables and disables, one
 * JSON object a line, written off the calling thread by the shared event-log writer.
 */
final class FilterEventLog implements AutoCloseable {

    private final JsonLinesLog log;

    FilterEventLog(Path file) {
        this.log = new JsonLinesLog(JsonLinesLog.Settings.of(file), "hermod-filter-events");
    }

    void append(String event, String name, String bundle, String from, String to) {
        String time = Instant.now().toString();
        log.append(f -> f.string("time", time).string("event", event).string("filter", name)
                .string("bundle", bundle).string("from", from).string("to", to));
    }

    java.util.concurrent.CompletableFuture<Void> sync() {
        return log.sync();
    }

    @Override
    public void close() {
        log.close();
    }
}
