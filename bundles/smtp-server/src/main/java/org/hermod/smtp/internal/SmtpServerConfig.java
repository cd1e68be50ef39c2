package org.hermod.smtp.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Hermod SMTP server", description = "The ESMTP listener (RFC 5321)")
public @interface SmtpServerConfig {

    @AttributeDefinition(description = "TCP port to listen on")
    int port() default 2525;

    @AttributeDefinition(description = "Address to bind; 0.0.0.0 for all IPv4 interfaces, :: for all")
    String bindAddress() default "0.0.0.0";

    @AttributeDefinition(description = "Host name in the greeting, EHLO reply and Received: headers; empty = local host name")
    String hostname() default "";

    @AttributeDefinition(description = "Largest message accepted, in bytes (advertised with SIZE)")
    long maxMessageSize() default 36_700_160L;

    @AttributeDefinition(description = "MiB of message data all sessions together may buffer before it is spooled;"
            + " past it transfers get 452 4.3.1 (try later)")
    long maxBufferedDataMb() default 1024;

    @AttributeDefinition(description = "Most recipients accepted per message")
    int maxRecipients() default 1000;

    @AttributeDefinition(description = "Most simultaneous client connections")
    int maxConnections() default 2000;

    @AttributeDefinition(description = "Most simultaneous connections from one client IP address")
    int maxConnectionsPerIp() default 100;

    @AttributeDefinition(description = "Seconds to wait for the next command (RFC 5321 4.5.3.2.7: at least 5 minutes)")
    int commandTimeoutSeconds() default 300;

    @AttributeDefinition(description = "Seconds to wait for more message data while in DATA (RFC 5321 4.5.3.2.6: 3 minutes)")
    int dataTimeoutSeconds() default 180;

    @AttributeDefinition(description = "Error replies tolerated in one session before it is closed with 421")
    int maxErrors() default 20;

    @AttributeDefinition(description = "Client networks (CIDR) allowed to relay to any domain; everyone else may only send to relayDomains")
    String[] mynetworks() default {"127.0.0.0/8", "::1/128"};

    @AttributeDefinition(description = "Domains accepted from any client (Hermod relays mail for them)")
    String[] relayDomains() default {};

    @AttributeDefinition(description = "Bare CR or LF in commands or message data: 'reject' (5xx) or 'normalize' (treat as CRLF)")
    String bareNewline() default "reject";

    @AttributeDefinition(description = "Refuse suppressed recipients at RCPT (550 5.7.1); when false they are accepted and"
            + " failed with a DSN by delivery before any connection is made")
    boolean refuseSuppressed() default true;

    @AttributeDefinition(description = "Where RCPT TO:<postmaster> (no domain, RFC 5321 4.5.1) goes; empty = postmaster@<hostname>")
    String postmaster() default "";

    @AttributeDefinition(description = "Event loop threads; 0 = number of processors")
    int ioThreads() default 0;
}
