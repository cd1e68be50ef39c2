package org.hermod.smtp.internal;

import java.util.concurrent.CompletionStage;

/**
 * Checks SMTP AUTH credentials. Implementations must not block the caller (an event loop): the check completes the
 * returned stage, on any thread.
 */
interface Authenticator {

    /** Completes with true when the user exists, the password is right and the user may submit mail. */
    CompletionStage<Boolean> check(String user, char[] password);
}
