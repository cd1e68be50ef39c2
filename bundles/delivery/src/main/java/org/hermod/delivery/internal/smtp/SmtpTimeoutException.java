package org.hermod.delivery.internal.smtp;

/** A reply did not arrive within its phase's timeout (the connection is closed). */
public final class SmtpTimeoutException extends java.io.IOException {
    public SmtpTimeoutException(String message) {
        super(message);
    }
}
