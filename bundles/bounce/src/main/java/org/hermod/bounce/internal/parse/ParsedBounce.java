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
 * @param originalSenders envelope/sender addresses of the attached original message (Return-Path, Sender, From,
 *        ARF Original-Mail-From), in that order, for VERP verification of complaints; never null
 */
public record ParsedBounce(BounceReport.Kind kind, String feedbackType, List<Item> recipients,
                           String originalMessageId, String error, List<String> originalSenders) {

    public ParsedBounce {
        recipients = List.copyOf(recipients);
        originalSenders = originalSenders == null ? List.of() : List.copyOf(originalSenders);
    }

    public ParsedBounce(BounceReport.Kind kind, String feedbackType, List<Item> recipients, String originalMessageId,
                        String error) {
        this(kind, feedbackType, recipients, originalMessageId, error, List.of());
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
