package org.hermod.api.filter;

/**
 * What a filter may know about the SMTP session a call belongs to.
 *
 * @param sessionId a unique id of the session (for logs)
 * @param clientAddress the client's IP address, textual
 * @param heloName the HELO/EHLO name, or null before it was given
 * @param authUser the authenticated user, or null
 * @param tls whether the session is encrypted
 * @param listener the name of the listener that took the connection (e.g. {@code default}, {@code submission})
 */
public record SessionInfo(String sessionId, String clientAddress, String heloName, String authUser, boolean tls,
                          String listener) {

    /** A session of a locally generated message (a DSN, a test): no client. */
    public static SessionInfo local(String id) {
        return new SessionInfo(id, "127.0.0.1", "localhost", null, false, "local");
    }
}
