package org.hermod.bounce.internal.parse;

import java.util.List;

import org.hermod.api.bounce.BounceReport;

/**
 * What {@link BounceParser} found in a message, before classification.
 *
 * @param kind what the message is
 * @param feedbackType ARF feedback type for complaints
 * @param recipients the failed recipients, in order
 * @param originalMessageId the Message-ID of the returned original message, or null
 * @param error a parse problem, or null
 */
public record ParsedBounce(BounceReport.Kind kind, String feedbackType, List<Item> recipients,
                           String originalMessageId, String error) {

    public ParsedBounce {
        recipients = List.copyOf(recipients);
    }

    /**
     * One recipient block.
     *
     * @param recipient final recipient (lower-cased) or null
     * @param originalRecipient original recipient or null
     * @param action DSN action, {@code failed} when not given
     * @param status enhanced status or null
     * @param replyCode SMTP reply code or 0
     * @param diagnostic the diagnostic text
     * @param remoteMta the remote MTA host or null
     */
    public record Item(String recipient, String originalRecipient, String action, String status, int replyCode,
                       String diagnostic, String remoteMta) {
    }
}
