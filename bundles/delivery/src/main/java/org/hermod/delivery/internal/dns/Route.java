package org.hermod.delivery.internal.dns;

import java.util.List;

import org.hermod.api.SmtpReply;

/**
 * The result of resolving a destination domain: either the mail exchangers to try, in order, or a failure with the reply
 * that describes it (permanent: 5xx, temporary: 4xx).
 *
 * @param hosts the exchangers in the order to try (empty on failure)
 * @param failure the failure, or null when hosts were found
 * @param implicit true when the domain had no MX and its own address records are used (RFC 5321 5.1)
 */
public record Route(List<MxHost> hosts, SmtpReply failure, boolean implicit) {

    public Route {
        hosts = List.copyOf(hosts);
    }

    public static Route of(List<MxHost> hosts, boolean implicit) {
        return new Route(hosts, null, implicit);
    }

    public static Route permanent(String status, String text) {
        return new Route(List.of(), SmtpReply.of(550, status, text), false);
    }

    public static Route temporary(String status, String text) {
        return new Route(List.of(), SmtpReply.of(451, status, text), false);
    }

    public boolean failed() {
        return failure != null;
    }

    public boolean isPermanentFailure() {
        return failure != null && failure.isPermanent();
    }
}
