package org.hermod.api.bounce;

import java.time.Instant;

/**
 * One suppressed address.
 *
 * @param address the address, lower-cased
 * @param reason why (a bounce category, {@code complaint}, or an operator's note)
 * @param created when it was added
 * @param source where it came from (queue id, bounce message description or {@code operator}), may be null
 */
public record SuppressionEntry(String address, String reason, Instant created, String source) {
}
