package org.hermod.example.filter;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of the example filters (PID {@code org.hermod.example.filter}, file
 * {@code etc/org.hermod.example.filter.cfg}, or {@code config:edit org.hermod.example.filter}); changes apply live.
 */
@ObjectClassDefinition(name = "Hermod example filter", description = "Sender and recipient-domain blocklists, tenant header stamp")
public @interface ExampleFilterConfig {

    @AttributeDefinition(description = "Recipient domains refused at RCPT (550 5.7.1), comma-separated; a domain "
            + "also covers its subdomains")
    String blockedDomains() default "";

    @AttributeDefinition(description = "Sender domains refused at MAIL FROM (550 5.7.1), comma-separated; a domain "
            + "also covers its subdomains")
    String blockedSenders() default "";

    @AttributeDefinition(description = "Sender domain to tenant, comma-separated: example.com=acme (subdomains "
            + "included). A tenant already on the route (e.g. from the rule router) wins")
    String tenants() default "";

    @AttributeDefinition(description = "The header field the tenant is stamped in (replacing any the client sent)")
    String header() default "X-Tenant";
}
