package org.hermod.smtp.internal;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/**
 * The SASL side of one SMTP AUTH command (RFC 4954) for PLAIN (RFC 4616) and LOGIN: decodes the client's responses and
 * says what to do next. No I/O and no credential check: the session sends challenges and error replies, and checks the
 * credentials off the event loop. One instance per session; not thread-safe (the session's event loop only).
 */
final class SaslExchange {

    /** What the session does next. */
    sealed interface Step permits Challenge, Failure, Credentials {
    }

    /** Send this 334 line; the client's next line goes to {@link #next}. */
    record Challenge(String line) implements Step {
    }

    /** Send this error reply; the exchange is over. */
    record Failure(String reply) implements Step {
    }

    /** Check these credentials; the exchange is over. */
    record Credentials(String user, char[] password) implements Step {
    }

    static final String MECHANISMS = "PLAIN LOGIN";
    private static final Failure UNDECODABLE = new Failure("501 5.5.2 Error: cannot decode response");

    private enum State { NONE, PLAIN, LOGIN_USER, LOGIN_PASSWORD }

    private State state = State.NONE;
    private String loginUser;

    /** Whether the client's next line is a response to a challenge. */
    boolean inProgress() {
        return state != State.NONE;
    }

    void abort() {
        state = State.NONE;
    }

    /** Starts an exchange with the argument of AUTH: a mechanism and an optional initial response. */
    Step start(String arg) {
        String[] a = arg.trim().split(" +", 2);
        String mech = a[0].toUpperCase(Locale.ROOT);
        String initial = a.length > 1 ? a[1].trim() : null;
        switch (mech) {
            case "PLAIN" -> {
                if (initial == null) {
                    state = State.PLAIN;
                    return new Challenge("334 ");
                }
                return plain(initial);
            }
            case "LOGIN" -> {
                if (initial == null) {
                    state = State.LOGIN_USER;
                    return new Challenge("334 VXNlcm5hbWU6"); // "Username:"
                }
                return loginUser(initial);
            }
            default -> {
                return new Failure("504 5.5.4 Unrecognized authentication type");
            }
        }
    }

    /** The client's response to the last challenge. */
    Step next(String line) {
        State s = state;
        state = State.NONE;
        String l = line.trim();
        if (l.equals("*")) {
            return new Failure("501 5.7.0 Error: authentication aborted");
        }
        return switch (s) {
            case PLAIN -> plain(l);
            case LOGIN_USER -> loginUser(l);
            case LOGIN_PASSWORD -> {
                byte[] pw = decode(l);
                yield pw == null ? UNDECODABLE : new Credentials(loginUser, new String(pw, StandardCharsets.UTF_8)
                        .toCharArray());
            }
            case NONE -> throw new IllegalStateException("no exchange in progress");
        };
    }

    private Step plain(String b64) {
        byte[] raw = decode(b64);
        if (raw == null) {
            return UNDECODABLE;
        }
        String[] parts = new String(raw, StandardCharsets.UTF_8).split("\0", -1);
        if (parts.length != 3 || parts[1].isEmpty()) {
            return new Failure("501 5.5.2 Error: invalid PLAIN response");
        }
        if (!parts[0].isEmpty() && !parts[0].equals(parts[1])) {
            return new Failure("535 5.7.8 Error: authentication failed: authorization identity not supported");
        }
        return new Credentials(parts[1], parts[2].toCharArray());
    }

    private Step loginUser(String b64) {
        byte[] u = decode(b64);
        if (u == null) {
            return UNDECODABLE;
        }
        loginUser = new String(u, StandardCharsets.UTF_8);
        state = State.LOGIN_PASSWORD;
        return new Challenge("334 UGFzc3dvcmQ6"); // "Password:"
    }

    /** Base64, "=" for an empty response (RFC 4954 4); null when it is not base64. */
    private static byte[] decode(String s) {
        try {
            return s.equals("=") ? new byte[0] : Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
