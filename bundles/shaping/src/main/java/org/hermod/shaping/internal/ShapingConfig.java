package org.hermod.shaping.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of traffic shaping (PID {@code org.hermod.shaping}, file {@code etc/org.hermod.shaping.cfg}); every
 * change applies live, keeping rate counters and adaptive state. Limits and response rules are in the rules file.
 */
@ObjectClassDefinition(name = "Hermod traffic shaping",
        description = "Egress sources and pools, sender-to-pool mapping, the rules file, strategy assignments")
public @interface ShapingConfig {

    @AttributeDefinition(description = "Egress sources, comma-separated: name=address/ehloName "
            + "(address empty: the system's choice; ehloName empty: delivery's EHLO name)")
    String sources() default "default=/";

    @AttributeDefinition(description = "Pools, separated by ';': name: source*weight, source*weight "
            + "(weight defaults to 1). Empty: one pool 'default' with every source")
    String pools() default "";

    @AttributeDefinition(description = "The pool for senders no senderPools entry matches")
    String defaultPool() default "default";

    @AttributeDefinition(description = "Sender domain to pool, comma-separated: example.com=transactional "
            + "(a domain also matches its subdomains)")
    String senderPools() default "";

    @AttributeDefinition(description = "The rules file (providers, limits, response rules, recovery). "
            + "Empty: ${karaf.etc}/hermod-shaping.rules")
    String rulesFile() default "";

    @AttributeDefinition(description = "How often the rules file's modification time is checked, in milliseconds")
    long rulesPollMillis() default 2000;

    @AttributeDefinition(description = "Strategy per provider or site, separated by ';': provider:yahoo=fixed; "
            + "site:mx1.example.com,mx2.example.com=fixed; default=adaptive")
    String strategyAssignments() default "default=adaptive";

    @AttributeDefinition(description = "How often strategies are ticked (recovery, end of suspensions), in milliseconds")
    long tickMillis() default 5000;

    @AttributeDefinition(description = "Shaping event log (JSON lines). "
            + "Empty: ${karaf.data}/hermod/log/shaping-events.jsonl")
    String eventLog() default "";

    @AttributeDefinition(description = "The Derby database holding the warmup state (table HERMOD_WARMUP: plan day"
            + " and today's counts per source and provider), flushed every tick and at shutdown."
            + " Empty: ${karaf.data}/hermod/derby (the database of the bounce bundle's suppression list)")
    String warmupDatabase() default "";

    @AttributeDefinition(description = "A warmup state file written by an earlier version, imported into the database"
            + " once when present (then renamed to *.migrated). Empty: ${karaf.data}/hermod/shaping/warmup.state")
    String warmupStateFile() default "";

    @AttributeDefinition(description = "How many recent events hermod:shaping-events can show")
    int eventsKept() default 1000;
}
