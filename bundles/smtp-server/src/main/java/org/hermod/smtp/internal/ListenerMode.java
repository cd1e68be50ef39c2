package org.hermod.smtp.internal;

import java.util.Locale;

/** What a listener is for; it decides TLS and authentication rules of its sessions. */
enum ListenerMode {
    /** The MTA port (25): STARTTLS offered, no AUTH; relaying by client network and relay domains. */
    MTA(false, false),
    /** Message submission (587, RFC 6409): STARTTLS required before AUTH, AUTH required before MAIL. */
    SUBMISSION(false, true),
    /** Submission over implicit TLS (465, RFC 8314): TLS from the first byte, AUTH required before MAIL. */
    SUBMISSIONS(true, true);

    final boolean implicitTls;
    final boolean submission;

    ListenerMode(boolean implicitTls, boolean submission) {
        this.implicitTls = implicitTls;
        this.submission = submission;
    }

    static ListenerMode parse(String s) {
        String m = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (m) {
            case "mta", "smtp" -> MTA;
            case "submission" -> SUBMISSION;
            case "submissions", "smtps", "implicit-tls" -> SUBMISSIONS;
            default -> throw new IllegalArgumentException("mode must be mta, submission or submissions, not " + s);
        };
    }
}
