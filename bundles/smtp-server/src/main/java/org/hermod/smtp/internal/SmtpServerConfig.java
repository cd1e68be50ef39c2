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

    @AttributeDefinition(description = "While no routing bundle provides the filter chain (being updated, not yet started):"
            + " true = defer new transactions with 451 4.3.0 at MAIL (null-sender mail to local domains, i.e. bounce"
            + " input, still passes); false = accept mail unfiltered")
    boolean filtersRequired() default true;

    @AttributeDefinition(description = "Run the MAIL filters when the first recipient comes, in one filter-thread hand-off"
            + " with that recipient's RCPT filters, as Postfix's smtpd_delay_reject=yes does: a MAIL filter's reject"
            + " or defer then answers each RCPT of the transaction instead of MAIL itself. false = MAIL filters answer"
            + " MAIL (one more hand-off per message)")
    boolean delayMailFilters() default true;

    @AttributeDefinition(description = "Before the listeners open, run synthetic messages through the session code on a"
            + " private loopback port (nothing is stored), so that the first clients after a start do not meet cold code")
    boolean warmup() default true;

    @AttributeDefinition(description = "Where RCPT TO:<postmaster> (no domain, RFC 5321 4.5.1) goes; empty = postmaster@<hostname>")
    String postmaster() default "";

    @AttributeDefinition(description = "Event loop threads; 0 = number of processors (a change takes effect when the bundle restarts)")
    int ioThreads() default 0;

    @AttributeDefinition(description = "Seconds a client may spend, per mail transaction, sending command lines it has not"
            + " finished (a client dripping bytes is closed with 421 when it is used up)")
    int commandLineBudgetSeconds() default 30;

    @AttributeDefinition(description = "Minimum DATA/BDAT rate in octets per second: a transfer may take the data timeout"
            + " plus one second per this many octets (like Postfix's smtpd_min_data_rate); 0 = off")
    int minDataRate() default 500;

    @AttributeDefinition(description = "Most seconds one session may last, whatever it does; then 421 4.4.2 and close"
            + " (a client that keeps a connection open with NOOP, HELP, BDAT 0 ... ). 0 = no limit")
    int maxSessionSeconds() default 3600;

    @AttributeDefinition(description = "Offer CHUNKING (BDAT, RFC 3030)")
    boolean chunking() default true;

    @AttributeDefinition(description = "Offer STARTTLS on this (MTA) port")
    boolean starttls() default true;

    @AttributeDefinition(description = "PEM certificate chain, relative to Karaf's etc/ unless absolute; generated"
            + " (self-signed) on first start when missing")
    String tlsCertificate() default "hermod-smtp.crt";

    @AttributeDefinition(description = "PEM private key (PKCS#8) for tlsCertificate, relative to etc/ unless absolute")
    String tlsKey() default "hermod-smtp.key";

    @AttributeDefinition(description = "TLS protocol versions offered")
    String[] tlsProtocols() default {"TLSv1.3", "TLSv1.2"};

    @AttributeDefinition(description = "JAAS realm that checks SMTP AUTH credentials")
    String authRealm() default "karaf";

    @AttributeDefinition(description = "Role a user needs to authenticate (empty: any user of the realm, including the"
            + " console's administrators)")
    String authRole() default "smtp-submit";

    @AttributeDefinition(description = "Record the authenticated user in the Received: header")
    boolean authUserInReceived() default true;

    @AttributeDefinition(description = "Failed authentications per client IP within authFailureWindowSeconds before"
            + " further AUTH attempts from it are refused (454 4.7.0)")
    int maxAuthFailuresPerIp() default 5;

    @AttributeDefinition(description = "Window for maxAuthFailuresPerIp, in seconds")
    int authFailureWindowSeconds() default 600;

    @AttributeDefinition(description = "New connections per client IP per minute (0 = unlimited; mynetworks are exempt)")
    int maxConnectionsPerIpPerMinute() default 0;

    @AttributeDefinition(description = "Messages per client IP per minute (0 = unlimited; mynetworks are exempt)")
    int maxMessagesPerIpPerMinute() default 0;

    @AttributeDefinition(description = "Recipients per client IP per minute (0 = unlimited; mynetworks are exempt)")
    int maxRecipientsPerIpPerMinute() default 0;

    @AttributeDefinition(description = "Error replies per client IP per minute before its sessions are closed"
            + " (0 = unlimited; mynetworks are exempt)")
    int maxErrorsPerIpPerMinute() default 100;

    @AttributeDefinition(description = "File of valid recipients for relay domains (relative to etc/), reloaded when it"
            + " changes; empty = every recipient of a relay domain is accepted")
    String recipientMap() default "";

    @AttributeDefinition(description = "Address extension delimiter(s) for recipient lookups (user+tag); empty = none")
    String recipientDelimiter() default "+";

    @AttributeDefinition(description = "Verify recipients of relay domains (not covered by recipientMap) against this next"
            + " hop, host:port, with an SMTP callout (Postfix's reject_unverified_recipient); empty = off")
    String verifyNextHop() default "";

    @AttributeDefinition(description = "Seconds to wait for the next hop in a callout")
    int verifyTimeoutSeconds() default 10;

    @AttributeDefinition(description = "Seconds a valid answer is cached")
    long verifyPositiveTtlSeconds() default 604_800;

    @AttributeDefinition(description = "Seconds an 'unknown user' answer is cached")
    long verifyNegativeTtlSeconds() default 10_800;

    @AttributeDefinition(description = "Relay domains (with their subdomains) whose valid recipients are looked up in LDAP;"
            + " they take precedence over recipientMap and verifyNextHop. Empty = no LDAP lookups")
    String[] ldapDomains() default {};

    @AttributeDefinition(description = "LDAP server, ldap://host:port or ldaps://host:port")
    String ldapUrl() default "ldap://127.0.0.1:389";

    @AttributeDefinition(description = "DN to bind as for recipient lookups; empty = anonymous")
    String ldapBindDn() default "";

    @AttributeDefinition(description = "Password of ldapBindDn", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
    String ldapBindPassword() default "";

    @AttributeDefinition(description = "Base DN of the subtree searched")
    String ldapBaseDn() default "";

    @AttributeDefinition(description = "Search filter; %s = the address, %u = its local part, %d = its domain, %% = %"
            + " (values are escaped per RFC 4515). An entry found = a valid recipient")
    String ldapFilter() default "(mail=%s)";

    @AttributeDefinition(description = "Seconds to wait for the LDAP server (connect, and each search); then 451 4.4.3")
    int ldapTimeoutSeconds() default 5;

    @AttributeDefinition(description = "Seconds a found recipient is cached")
    long ldapPositiveTtlSeconds() default 3600;

    @AttributeDefinition(description = "Seconds an unknown recipient is cached")
    long ldapNegativeTtlSeconds() default 300;

    @AttributeDefinition(description = "Threads searching LDAP at once (their queue holds 1000 lookups; beyond it 451 4.4.3)")
    int ldapThreads() default 4;
}
