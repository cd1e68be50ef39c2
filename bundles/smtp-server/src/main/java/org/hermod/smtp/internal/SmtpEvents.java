package org.hermod.smtp.internal;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Instant;

import org.hermod.eventlog.JsonLinesLog;

/**
 * The SMTP server's event log (JSON Lines, {@code data/hermod/log/smtp-events.jsonl} by default): authentication
 * successes and failures, refused authentication from throttled addresses, sessions closed by an abuse limit, and
 * plain text discarded after STARTTLS. One line per event with time, event, client, listener mode, user and detail.
 * {@link #append} never blocks and never throws (the shared writer drops and counts when its queue is full).
 */
interface SmtpEvents {

    void append(String event, InetAddress client, ListenerMode mode, String user, String detail);

    /** For tests and when no log is wanted. */
    SmtpEvents NONE = (event, client, mode, user, detail) -> {
    };

    /** Backed by a {@link JsonLinesLog} on its own writer thread. */
    final class File implements SmtpEvents, AutoCloseable {
        private final JsonLinesLog log;

        File(Path file) {
            log = new JsonLinesLog(JsonLinesLog.Settings.of(file), "hermod-smtp-events");
        }

        @Override
        public void append(String event, InetAddress client, ListenerMode mode, String user, String detail) {
            String time = Instant.now().toString();
            log.append(f -> f.string("time", time)
                    .string("event", event)
                    .string("client", client == null ? null : client.getHostAddress())
                    .string("listener", mode == null ? null : mode.name().toLowerCase(java.util.Locale.ROOT))
                    .string("user", user)
                    .string("detail", detail));
        }

        Path file() {
            return log.file();
        }

        java.util.concurrent.CompletableFuture<Void> sync() {
            return log.sync();
        }

        @Override
        public void close() {
            log.close();
        }
    }
}
