package org.hermod.bounce.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the bounce bundle (PID {@code org.hermod.bounce}, file {@code etc/org.hermod.bounce.cfg}). */
@ObjectClassDefinition(name = "Hermod bounce classification",
        description = "Bounce classification rules, suppression list, VERP and the bounce event log")
public @interface BounceConfig {

    @AttributeDefinition(description = "Operator rule file, evaluated before the built-in rules. "
            + "Empty: ${karaf.etc}/hermod-bounce-rules.txt")
    String rulesFile() default "";

    @AttributeDefinition(description = "How often the rule file's modification time is checked, in milliseconds")
    long rulesPollMillis() default 2000;

    @AttributeDefinition(description = "Categories that suppress the recipient when permanent")
    String[] hardCategories() default {"bad-mailbox", "bad-domain", "inactive-mailbox"};

    @AttributeDefinition(description = "Add complaining recipients (ARF reports) to the suppression list")
    boolean suppressComplaints() default true;

    @AttributeDefinition(description = "ARF feedback types that suppress the complaining recipient (only when a "
            + "verified VERP return path identifies the recipient)")
    String[] complaintFeedbackTypes() default {"abuse", "fraud", "opt-out"};

    @AttributeDefinition(description = "Derby database directory of the suppression list. "
            + "Empty: ${karaf.data}/hermod/derby")
    String databaseName() default "";

    @AttributeDefinition(description = "Domain that VERP return paths are made on (its MX must be this server). "
            + "Empty: no VERP, outbound mail keeps the original sender")
    String bounceDomain() default "";

    @AttributeDefinition(description = "Secret for the VERP HMAC. Empty: generated once and kept in "
            + "${karaf.data}/hermod/verp.key")
    String verpSecret() default "";

    @AttributeDefinition(description = "Bounce event log (JSON lines). Empty: ${karaf.data}/hermod/log/bounce-events.jsonl")
    String eventLog() default "";
}
