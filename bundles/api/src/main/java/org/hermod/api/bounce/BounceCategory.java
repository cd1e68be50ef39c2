package org.hermod.api.bounce;

/**
 * The built-in category names (the PowerMTA set). Categories are plain strings so that operators can add their own in
 * rule files; these constants are the ones Hermod ships with.
 */
public final class BounceCategory {

    public static final String BAD_MAILBOX = "bad-mailbox";
    public static final String BAD_DOMAIN = "bad-domain";
    public static final String INACTIVE_MAILBOX = "inactive-mailbox";
    public static final String QUOTA_ISSUES = "quota-issues";
    public static final String INVALID_SENDER = "invalid-sender";
    public static final String POLICY_RELATED = "policy-related";
    public static final String SPAM_RELATED = "spam-related";
    public static final String VIRUS_RELATED = "virus-related";
    public static final String CONTENT_RELATED = "content-related";
    public static final String MESSAGE_EXPIRED = "message-expired";
    public static final String NO_ANSWER_FROM_HOST = "no-answer-from-host";
    public static final String BAD_CONNECTION = "bad-connection";
    public static final String ROUTING_ERRORS = "routing-errors";
    public static final String RELAYING_ISSUES = "relaying-issues";
    public static final String PROTOCOL_ERRORS = "protocol-errors";
    public static final String BAD_CONFIGURATION = "bad-configuration";
    public static final String OTHER = "other";

    private BounceCategory() {
    }
}
