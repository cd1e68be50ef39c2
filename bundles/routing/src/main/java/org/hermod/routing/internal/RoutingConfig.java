package org.hermod.routing.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of the filter chain and the rule router (PID {@code org.hermod.routing}, file
 * {@code etc/org.hermod.routing.cfg}). The rules file and its polling apply live; thread and concurrency limits apply
 * to filters registered afterwards.
 */
@ObjectClassDefinition(name = "Hermod routing filters",
        description = "The filter chain's threads, budgets and bulkheads, and the rule router's rules file")
public @interface RoutingConfig {

    @AttributeDefinition(description = "Filter threads kept when idle")
    int filterThreads() default 4;

    @AttributeDefinition(description = "Filter threads at most; a call finding none free fails safe (defer)")
    int filterMaxThreads() default 256;

    @AttributeDefinition(description = "Calls of one filter in flight at most (stuck calls included); "
            + "past it, calls of that filter fail safe at once so a stuck filter cannot take every thread")
    int maxConcurrentPerFilter() default 64;

    @AttributeDefinition(description = "Time budget per filter call in milliseconds, when the filter sets none "
            + "(service property hermod.filter.timeout.ms)")
    long defaultTimeoutMillis() default 2000;

    @AttributeDefinition(description = "The rule router's rules file. Empty: ${karaf.etc}/hermod-routing.rules")
    String rulesFile() default "";

    @AttributeDefinition(description = "How often the rules file's modification time is checked, in milliseconds")
    long rulesPollMillis() default 1000;

    @AttributeDefinition(description = "service.ranking of the rule router (higher runs before other filters)")
    int routerRanking() default 10000;
}
