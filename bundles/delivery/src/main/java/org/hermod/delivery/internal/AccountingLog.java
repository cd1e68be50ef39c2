package org.hermod.delivery.internal;

import java.nio.file.Path;

import org.hermod.api.delivery.DeliveryEvent;
import org.hermod.api.delivery.DeliveryTls;
import org.hermod.eventlog.JsonLinesLog;

/**
 * The accounting log: one JSON object per line per delivery attempt ({@code delivery.jsonl}), written by the shared
 * event-log writer ({@link JsonLinesLog}: a background thread, so delivery threads never touch the disk; size-based
 * rotation; events dropped and counted, never waited for, when the disk cannot keep up). The {@code tls*} fields give
 * the TLS outcome of the attempt ({@link org.hermod.api.delivery.DeliveryTls}; {@code tlsFailure} is a TLS-RPT result
 * type, so that a reporter can aggregate them per domain and policy).
 */
public final class AccountingLog implements AutoCloseable {

    private final JsonLinesLog log;

    public AccountingLog(Path file) {
        this(JsonLinesLog.Settings.of(file));
    }

    public AccountingLog(JsonLinesLog.Settings settings) {
        this.log = new JsonLinesLog(settings, "hermod-delivery-accounting");
    }

    public Path file() {
        return log.file();
    }

    public void append(DeliveryEvent e) {
        log.append(f -> {
            f.string("time", e.time() == null ? null : e.time().toString())
                .string("queueId", e.queueId())
                .string("sender", e.sender())
                .string("recipient", e.recipient())
                .string("domain", e.domain())
                .string("mxHost", e.mxHost())
                .string("mxAddress", e.mxAddress())
                .string("reply", e.reply() == null ? null : e.reply().toString())
                .string("outcome", e.outcome() == null ? null : e.outcome().name())
                .number("attempt", e.attempt())
                .string("category", e.category())
                .string("ruleId", e.ruleId());
            DeliveryTls t = e.tls();
            if (t != null) { // only attempts that reached (or tried) a connection
                f.string("tlsProtocol", t.protocol())
                        .string("tlsCipher", t.cipher())
                        .bool("tlsVerified", t.verified())
                        .string("tlsVerification", t.verification())
                        .string("tlsPolicy", t.policy())
                        .string("tlsPolicySource", t.policySource())
                        .string("tlsPolicyType", t.policyType())
                        .string("tlsPolicyId", t.policyId())
                        .string("tlsFailure", t.failure())
                        .string("tlsFailureDetail", t.failureDetail());
            }
        });
    }

    /** Writes what is queued, then stops. */
    @Override
    public void close() {
        log.close();
    }
}
