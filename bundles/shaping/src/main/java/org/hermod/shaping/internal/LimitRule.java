package org.hermod.shaping.internal;

import java.util.Map;

/**
 * A {@code limits} line (per path), a {@code site-limits} line (per site across all sources) or a
 * {@code source-limits} line (per source across all sites): the fields it sets, by {@code Limits} field name
 * ({@code maxConnections}, {@code maxMessagesPerConnection}, {@code messagesPerSecond}, {@code connectionsPerSecond},
 * {@code maxRecipientsPerTransaction}).
 */
public record LimitRule(Kind kind, Scope scope, Map<String, Number> values, Origin origin) {

    public enum Kind {
        PATH, SITE_TOTAL, SOURCE_TOTAL
    }

    public LimitRule {
        values = Map.copyOf(values);
    }
}
