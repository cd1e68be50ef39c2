package org.hermod.api.filter;

import java.util.List;

import org.hermod.api.SmtpReply;
import org.hermod.api.routing.Route;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Dry runs of the built-in rule router: which rules a message with these facts would match, why, and the route and
 * outcome it would get. Nothing is sent or stored. A service of the routing bundle; thread-safe.
 */
@ProviderType
public interface RouteTester {

    /** Runs the rules in force for every stage (connect, MAIL, each RCPT, end of data) against the query. */
    Result test(Query query);

    /**
     * The facts of a test message.
     *
     * @param from the sender address ("" for the null sender)
     * @param to the recipients (at least one)
     * @param headers header fields the end-of-data rules see (a Subject and From are not made up)
     * @param client the client IP address
     * @param user the authenticated user, or null
     * @param size the message size in bytes
     */
    record Query(String from, List<String> to, List<HeaderField> headers, String client, String user, long size) {

        public Query {
            to = List.copyOf(to);
            headers = headers == null ? List.of() : List.copyOf(headers);
            client = client == null || client.isBlank() ? "127.0.0.1" : client;
            if (to.isEmpty()) {
                throw new IllegalArgumentException("at least one recipient");
            }
        }
    }

    /**
     * One rule that matched.
     *
     * @param stage connect, mail, rcpt or data
     * @param subject the recipient a RCPT rule matched for, else null
     * @param line the rule's line in the rules file
     * @param rule the rule as written
     * @param why what matched, e.g. {@code to-domain=*.example.com matched b@mx.example.com}
     */
    record Match(String stage, String subject, int line, String rule, String why) {
    }

    /**
     * What the rules would do.
     *
     * @param rulesFile the rules file read
     * @param matches the rules that matched, in the order they applied
     * @param action the final action (CONTINUE when no rule ended a stage)
     * @param reply the reply of a reject or defer, else null
     * @param holdReason the reason of a hold, else null
     * @param route the resulting route
     * @param headersAdded header fields the rules add
     */
    record Result(String rulesFile, List<Match> matches, FilterDecision.Action action, SmtpReply reply,
                  String holdReason, Route route, List<HeaderField> headersAdded) {
    }
}
