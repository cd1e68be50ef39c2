package org.hermod.delivery.internal;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import org.hermod.delivery.internal.smtp.Timeouts;

/**
 * The parsed, immutable delivery configuration. A new instance replaces the old one on a configuration change; every
 * delivery reads the instance current at its start.
 */
public record DeliverySettings(List<InetSocketAddress> dnsServers, Duration dnsTimeout, int dnsCacheSize, int smtpPort,
                               String heloName, String sourceAddress, boolean preferIPv6, Timeouts timeouts,
                               int maxRecipientsPerTransaction, int maxMessagesPerConnection, Duration idleTimeout,
                               int maxConnectionsPerDomain, int maxConnections, RetrySchedule retry, Duration maxAge,
                               DomainOverrides overrides, boolean tlsEnabled, Set<String> tlsRequiredDomains,
                               boolean strict8BitMime, int ioThreads, String accountingLog, boolean verp,
                               Duration delayNotice, boolean suppressionCheck) {

    public DeliverySettings {
        dnsServers = List.copyOf(dnsServers);
        tlsRequiredDomains = Set.copyOf(tlsRequiredDomains);
        atLeastOne("maxRecipientsPerTransaction", maxRecipientsPerTransaction);
        atLeastOne("maxMessagesPerConnection", maxMessagesPerConnection);
        atLeastOne("maxConnectionsPerDomain", maxConnectionsPerDomain);
        atLeastOne("maxConnections", maxConnections);
        if (delayNotice.isNegative()) {
            throw new IllegalArgumentException("delayNotice must be >= 0");
        }
    }

    private static void atLeastOne(String key, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(key + " must be >= 1, got " + value);
        }
    }

    /** @throws IllegalArgumentException naming the bad setting when the configuration is invalid */
    public static DeliverySettings from(DeliveryConfig c, String defaultHeloName) {
        try {
            return parse(c, defaultHeloName);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid delivery configuration (org.hermod.delivery): " + e.getMessage(), e);
        }
    }

    private static DeliverySettings parse(DeliveryConfig c, String defaultHeloName) {
        List<Duration> schedule = RetrySchedule.parseSchedule(c.retrySchedule());
        RetrySchedule retry = new RetrySchedule(schedule, Durations.parse(c.retryInitial()), c.retryFactor(),
                Durations.parse(c.retryMax()), c.retryJitter());
        Timeouts t = new Timeouts(Durations.parse(c.connectTimeout()), Durations.parse(c.greetingTimeout()),
                Durations.parse(c.heloTimeout()), Durations.parse(c.mailTimeout()), Durations.parse(c.rcptTimeout()),
                Durations.parse(c.dataInitTimeout()), Durations.parse(c.dataBlockTimeout()), Durations.parse(c.dataEndTimeout()));
        return new DeliverySettings(parseHostPorts(c.dnsServers(), 53), Durations.parse(c.dnsTimeout()), c.dnsCacheSize(),
                c.smtpPort(), c.heloName().isBlank() ? defaultHeloName : c.heloName().trim(), c.sourceAddress().trim(),
                c.preferIPv6(), t, c.maxRecipientsPerTransaction(), c.maxMessagesPerConnection(),
                Durations.parse(c.idleTimeout()), c.maxConnectionsPerDomain(), c.maxConnections(), retry,
                Durations.parse(c.maxAge()), DomainOverrides.parse(c.domainOverrides()), c.tlsEnabled(),
                parseDomains(c.tlsRequiredDomains()), c.strict8BitMime(),
                c.ioThreads(), c.accountingLog().trim(), c.verp(), Durations.parse(c.delayNotice()), c.suppressionCheck());
    }

    /** Defaults equal to {@link DeliveryConfig}'s, for tests. */
    public static DeliverySettings defaults() {
        return new DeliverySettings(List.of(), Duration.ofSeconds(5), 10000, 25, "localhost", "", false, Timeouts.defaults(),
                100, 100, Duration.ofSeconds(30), 10, 200, RetrySchedule.defaults(), Duration.ofDays(5),
                DomainOverrides.parse(""), true, Set.of(), false, 2, "", true, Duration.ofHours(4), true);
    }

    /** The effective settings for one destination domain. */
    public DomainPolicy policy(String domain) {
        DomainPolicy base = new DomainPolicy(maxAge, retry, maxConnectionsPerDomain,
                tlsRequiredDomains.contains(domain.toLowerCase(Locale.ROOT)));
        return overrides.apply(domain, base);
    }

    public DeliverySettings withDns(List<InetSocketAddress> servers, Duration timeout) {
        return new DeliverySettings(servers, timeout, dnsCacheSize, smtpPort, heloName, sourceAddress, preferIPv6, timeouts,
                maxRecipientsPerTransaction, maxMessagesPerConnection, idleTimeout, maxConnectionsPerDomain, maxConnections,
                retry, maxAge, overrides, tlsEnabled, tlsRequiredDomains, strict8BitMime, ioThreads,
                accountingLog, verp, delayNotice, suppressionCheck);
    }

    public DeliverySettings withSmtp(int port, Timeouts t, int maxRcpt, int maxMsgs, Duration idle) {
        return new DeliverySettings(dnsServers, dnsTimeout, dnsCacheSize, port, heloName, sourceAddress, preferIPv6, t,
                maxRcpt, maxMsgs, idle, maxConnectionsPerDomain, maxConnections, retry, maxAge, overrides, tlsEnabled,
                tlsRequiredDomains, strict8BitMime, ioThreads, accountingLog, verp, delayNotice, suppressionCheck);
    }

    public DeliverySettings withRetry(RetrySchedule r, Duration age, DomainOverrides o) {
        return new DeliverySettings(dnsServers, dnsTimeout, dnsCacheSize, smtpPort, heloName, sourceAddress, preferIPv6,
                timeouts, maxRecipientsPerTransaction, maxMessagesPerConnection, idleTimeout, maxConnectionsPerDomain,
                maxConnections, r, age, o, tlsEnabled, tlsRequiredDomains, strict8BitMime, ioThreads,
                accountingLog, verp, delayNotice, suppressionCheck);
    }

    public DeliverySettings withTls(boolean enabled, Set<String> required) {
        return new DeliverySettings(dnsServers, dnsTimeout, dnsCacheSize, smtpPort, heloName, sourceAddress, preferIPv6,
                timeouts, maxRecipientsPerTransaction, maxMessagesPerConnection, idleTimeout, maxConnectionsPerDomain,
                maxConnections, retry, maxAge, overrides, enabled, required, strict8BitMime, ioThreads,
                accountingLog, verp, delayNotice, suppressionCheck);
    }

    /** Switches VERP return paths on or off. */
    public DeliverySettings withVerp(boolean on) {
        return new DeliverySettings(dnsServers, dnsTimeout, dnsCacheSize, smtpPort, heloName, sourceAddress, preferIPv6,
                timeouts, maxRecipientsPerTransaction, maxMessagesPerConnection, idleTimeout, maxConnectionsPerDomain,
                maxConnections, retry, maxAge, overrides, tlsEnabled, tlsRequiredDomains, strict8BitMime, ioThreads,
                accountingLog, on, delayNotice, suppressionCheck);
    }

    /** Sets when a delayed DSN goes out (zero: never). */
    public DeliverySettings withDelayNotice(Duration after) {
        return new DeliverySettings(dnsServers, dnsTimeout, dnsCacheSize, smtpPort, heloName, sourceAddress, preferIPv6,
                timeouts, maxRecipientsPerTransaction, maxMessagesPerConnection, idleTimeout, maxConnectionsPerDomain,
                maxConnections, retry, maxAge, overrides, tlsEnabled, tlsRequiredDomains, strict8BitMime, ioThreads,
                accountingLog, verp, after, suppressionCheck);
    }

    /** Switches the suppression list check before delivery on or off. */
    public DeliverySettings withSuppressionCheck(boolean on) {
        return new DeliverySettings(dnsServers, dnsTimeout, dnsCacheSize, smtpPort, heloName, sourceAddress, preferIPv6,
                timeouts, maxRecipientsPerTransaction, maxMessagesPerConnection, idleTimeout, maxConnectionsPerDomain,
                maxConnections, retry, maxAge, overrides, tlsEnabled, tlsRequiredDomains, strict8BitMime, ioThreads,
                accountingLog, verp, delayNotice, on);
    }

    /** Parses {@code host:port, [v6]:port, host} lists. */
    public static List<InetSocketAddress> parseHostPorts(String s, int defaultPort) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String part : s.split("[,\\s]+")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            String host = p;
            int port = defaultPort;
            if (p.startsWith("[")) {
                int end = p.indexOf(']');
                host = p.substring(1, end);
                if (end + 1 < p.length() && p.charAt(end + 1) == ':') {
                    port = Integer.parseInt(p.substring(end + 2));
                }
            } else if (p.indexOf(':') >= 0 && p.indexOf(':') == p.lastIndexOf(':')) {
                host = p.substring(0, p.indexOf(':'));
                port = Integer.parseInt(p.substring(p.indexOf(':') + 1));
            }
            out.add(new InetSocketAddress(host, port));
        }
        return out;
    }

    static Set<String> parseDomains(String s) {
        return java.util.Arrays.stream(s.split("[,;\\s]+")).map(String::trim).filter(x -> !x.isEmpty())
                .map(x -> x.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
    }
}
