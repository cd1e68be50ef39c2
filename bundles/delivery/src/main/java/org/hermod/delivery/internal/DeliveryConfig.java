package org.hermod.delivery.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of the delivery bundle (PID {@code org.hermod.delivery}, file {@code etc/org.hermod.delivery.cfg}).
 * Durations are written like {@code 30s}, {@code 5m}, {@code 4h}, {@code 5d} or {@code 250ms}; a bare number is seconds.
 */
@ObjectClassDefinition(name = "Hermod delivery", description = "Outbound SMTP delivery: DNS, SMTP client, scheduling, retries, bounces")
public @interface DeliveryConfig {

    @AttributeDefinition(description = "DNS resolvers as host:port list (comma separated; IPv6 as [addr]:port). Empty: system resolvers")
    String dnsServers() default "";

    @AttributeDefinition(description = "Timeout of one DNS query")
    String dnsTimeout() default "5s";

    @AttributeDefinition(description = "Maximum number of cached DNS RRsets")
    int dnsCacheSize() default 10000;

    @AttributeDefinition(description = "TCP port of destination SMTP servers")
    int smtpPort() default 25;

    @AttributeDefinition(description = "Name sent in EHLO/HELO and used as Reporting-MTA. Empty: the local host name")
    String heloName() default "";

    @AttributeDefinition(description = "Local (bind) address for outgoing connections. Empty: chosen by the OS")
    String sourceAddress() default "";

    @AttributeDefinition(description = "Try IPv6 addresses of an MX host before IPv4 ones")
    boolean preferIPv6() default false;

    @AttributeDefinition(description = "Connect timeout")
    String connectTimeout() default "30s";

    @AttributeDefinition(description = "Timeout waiting for the 220 greeting")
    String greetingTimeout() default "300s";

    @AttributeDefinition(description = "Timeout for EHLO/HELO, STARTTLS, RSET and QUIT replies")
    String heloTimeout() default "300s";

    @AttributeDefinition(description = "Timeout for the MAIL FROM reply")
    String mailTimeout() default "300s";

    @AttributeDefinition(description = "Timeout for each RCPT TO reply")
    String rcptTimeout() default "300s";

    @AttributeDefinition(description = "Timeout for the DATA (354) reply")
    String dataInitTimeout() default "120s";

    @AttributeDefinition(description = "Timeout for sending one block of message data (applied per MiB)")
    String dataBlockTimeout() default "180s";

    @AttributeDefinition(description = "Timeout for the reply to the final dot")
    String dataEndTimeout() default "600s";

    @AttributeDefinition(description = "Maximum RCPT TO per transaction")
    int maxRecipientsPerTransaction() default 100;

    @AttributeDefinition(description = "Maximum messages sent over one connection")
    int maxMessagesPerConnection() default 100;

    @AttributeDefinition(description = "How long an idle connection is kept for reuse")
    String idleTimeout() default "30s";

    @AttributeDefinition(description = "Maximum concurrent deliveries (connections) per destination domain")
    int maxConnectionsPerDomain() default 10;

    @AttributeDefinition(description = "Maximum concurrent deliveries (connections) overall")
    int maxConnections() default 200;

    @AttributeDefinition(description = "Explicit retry intervals, comma separated (last one repeats). Empty: retryInitial/retryFactor/retryMax")
    String retrySchedule() default "";

    @AttributeDefinition(description = "First retry interval")
    String retryInitial() default "5m";

    @AttributeDefinition(description = "Factor applied to the interval after each attempt")
    double retryFactor() default 2.0;

    @AttributeDefinition(description = "Largest retry interval")
    String retryMax() default "4h";

    @AttributeDefinition(description = "Random jitter applied to each interval, as a fraction (0.1 = +/-10%)")
    double retryJitter() default 0.1;

    @AttributeDefinition(description = "Maximum time a message stays queued before it bounces as expired")
    String maxAge() default "5d";

    @AttributeDefinition(description = "Send one delayed DSN (RFC 3464 Action: delayed) to the sender for recipients that asked "
            + "for NOTIFY=DELAY once their message has been queued this long and is still deferred. 0: never")
    String delayNotice() default "4h";

    @AttributeDefinition(description = "Per-destination overrides: 'domain: key=value, key=value; domain2: ...' with keys maxAge, retry "
            + "(alias of retryInitial), retryInitial, retryFactor, retryMax, retrySchedule (values separated by '/'), "
            + "maxConnections, tlsRequired. A domain starting with '.' matches its subdomains")
    String domainOverrides() default "";

    @AttributeDefinition(description = "Use STARTTLS when the peer offers it (no certificate verification)")
    boolean tlsEnabled() default true;

    @AttributeDefinition(description = "Domains (comma separated) that must be delivered over TLS; no STARTTLS there is a temporary failure 4.7.5")
    String tlsRequiredDomains() default "";

    @AttributeDefinition(name = "tls.defaultPolicy", description = "Outbound TLS policy for destinations not in the "
            + "policy map: none, may, encrypt, verify, dane, dane-only, mta-sts or auto (ADR 0011)")
    String tls_defaultPolicy() default "mta-sts";

    @AttributeDefinition(name = "tls.smarthostPolicy", description = "Outbound TLS policy for mail routed to a smarthost "
            + "(Route.smarthost): none, may, encrypt or verify (the certificate must name the smarthost). The policy map, "
            + "DANE and MTA-STS are per recipient domain and do not apply to a smarthost")
    String tls_smarthostPolicy() default "may";

    @AttributeDefinition(name = "tls.policyMap", description = "Per-destination TLS policy map ('domain policy' lines; "
            + "reloaded when it changes). Empty: ${karaf.etc}/hermod-tls-policy.map")
    String tls_policyMap() default "";

    @AttributeDefinition(name = "tls.trustStore", description = "PEM file of the CA certificates trusted for verify and "
            + "MTA-STS (SMTP servers and the policy web servers). Empty: the JDK's trust store")
    String tls_trustStore() default "";

    @AttributeDefinition(name = "mtaSts.httpsPort", description = "Port of the MTA-STS policy web servers")
    int mtaSts_httpsPort() default 443;

    @AttributeDefinition(name = "mtaSts.timeout", description = "Connect and read timeout of an MTA-STS policy fetch")
    String mtaSts_timeout() default "10s";

    @AttributeDefinition(name = "mtaSts.cacheDir", description = "Where fetched MTA-STS policies are kept across restarts. "
            + "Empty: ${karaf.data}/hermod/mta-sts")
    String mtaSts_cacheDir() default "";

    @AttributeDefinition(name = "dane.trustAnchors", description = "DNSSEC trust anchors (DS or DNSKEY records, zone file "
            + "format) for DANE. Empty: ${karaf.etc}/hermod-dnssec-root.key (the IANA root KSKs)")
    String dane_trustAnchors() default "";

    @AttributeDefinition(description = "Fail (5.6.3) instead of sending 8-bit content to a peer without 8BITMIME")
    boolean strict8BitMime() default false;

    @AttributeDefinition(description = "Netty I/O threads for outbound SMTP (0: Netty's default)")
    int ioThreads() default 2;

    @AttributeDefinition(description = "VERP: when the bounce bundle's return path codec has a bounce domain, send each "
            + "recipient in its own transaction with MAIL FROM b-<queueid>-<hex recipient>-<hmac>@<bounce domain> "
            + "(not for null-sender messages). false: always the original sender, many recipients per transaction")
    boolean verp() default true;

    @AttributeDefinition(description = "Before connecting, fail (550 5.7.1, with a DSN) every recipient on the bounce bundle's "
            + "suppression list instead of sending to it (when that list is present)")
    boolean suppressionCheck() default true;

    @AttributeDefinition(description = "Accounting log file (JSON lines). Empty: ${karaf.data}/hermod/log/delivery.jsonl")
    String accountingLog() default "";

    @AttributeDefinition(description = "At activation, send a few hundred small synthetic messages in the background "
            + "through the outbound SMTP code to a loopback sink of its own, so that the first real deliveries after a "
            + "start do not pay for class loading and interpretation (no events, accounting or shaping; applies at "
            + "activation)")
    boolean warmup() default true;
}
