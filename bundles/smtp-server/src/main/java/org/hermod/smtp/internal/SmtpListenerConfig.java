package org.hermod.smtp.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Hermod SMTP listener",
        description = "An extra listener of the SMTP server (submission, implicit TLS); settings are those of org.hermod.smtp")
public @interface SmtpListenerConfig {

    @AttributeDefinition(description = "TCP port (587 submission, 465 submissions)")
    int port();

    @AttributeDefinition(description = "Address to bind")
    String bindAddress() default "0.0.0.0";

    @AttributeDefinition(description = "mta (STARTTLS offered), submission (RFC 6409: STARTTLS before AUTH, AUTH before"
            + " MAIL) or submissions (RFC 8314 implicit TLS, AUTH before MAIL)")
    String mode() default "submission";
}
