package org.hermod.routing.internal;

import java.util.List;

import org.hermod.api.MailAddress;
import org.hermod.api.filter.HeaderField;

/**
 * What a rule can match on at one stage; unknown facts are null (the sender before MAIL, headers before end of data).
 *
 * @param client the client's IP address
 * @param user the authenticated user, or null
 * @param sender the reverse-path, or null before MAIL
 * @param recipients the recipient of this RCPT (one), or at end of data all of them; empty before RCPT
 * @param headers the header fields (end of data), or null
 * @param size the message size (end of data), or the SIZE= the client declared at MAIL, or -1
 */
record Facts(String client, String user, MailAddress sender, List<MailAddress> recipients, List<HeaderField> headers,
             long size) {

    Facts {
        recipients = recipients == null ? List.of() : List.copyOf(recipients);
    }
}
