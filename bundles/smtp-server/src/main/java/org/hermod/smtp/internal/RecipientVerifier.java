package org.hermod.smtp.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CompletionStage;

import org.hermod.api.MailAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recipient verification against the next hop, like Postfix's reject_unverified_recipient: an SMTP callout (EHLO,
 * MAIL FROM:&lt;&gt;, RCPT TO, QUIT) tells whether the next hop would take the address; 2xx = valid, 5xx = unknown
 * (refused at RCPT, so no backscatter later), anything else = cannot tell now (4xx at RCPT). Answers are cached:
 * valid ones for {@code positiveTtl}, unknown ones for {@code negativeTtl}; a temporary failure is not cached.
 * Callouts run on four worker threads with a bounded queue, never on an event loop; concurrent checks of one address
 * share one callout ({@link VerdictCache}).
 */
final class RecipientVerifier {

    private static final Logger LOG = LoggerFactory.getLogger(RecipientVerifier.class);

    enum Result { VALID, UNKNOWN_USER, TRY_LATER }

    /** A result and the next hop's reply, as given to the client. */
    record Verdict(Result result, String reply) {
    }

    private final String host;
    private final int port;
    private final String helo;
    private final int timeoutMillis;
    private final VerdictCache cache;

    /** @param nextHop "host:port" */
    RecipientVerifier(String nextHop, String helo, int timeoutSeconds, long positiveTtlSeconds, long negativeTtlSeconds) {
        int colon = nextHop.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("verifyNextHop must be host:port, not " + nextHop);
        }
        this.host = nextHop.substring(0, colon).replace("[", "").replace("]", "");
        this.port = Integer.parseInt(nextHop.substring(colon + 1));
        this.helo = helo;
        this.timeoutMillis = timeoutSeconds * 1000;
        this.cache = new VerdictCache("hermod-smtp-verify", 4, 1000, positiveTtlSeconds, negativeTtlSeconds,
                System::nanoTime);
    }

    String nextHop() {
        return host + ":" + port;
    }

    void close() {
        cache.close();
    }

    CompletionStage<Verdict> verify(MailAddress rcpt) {
        return cache.get(rcpt.toString().toLowerCase(Locale.ROOT), () -> callout(rcpt));
    }

    private Verdict callout(MailAddress rcpt) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            String r = reply(in);
            if (!r.startsWith("2")) {
                return new Verdict(Result.TRY_LATER, "next hop greeting: " + r);
            }
            for (String cmd : new String[] {"EHLO " + helo, "MAIL FROM:<>"}) {
                out.write((cmd + "\r\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                r = reply(in);
                if (!r.startsWith("2")) {
                    return new Verdict(Result.TRY_LATER, "next hop refused " + cmd.split(" ")[0] + ": " + r);
                }
            }
            out.write(("RCPT TO:" + rcpt.toSmtpPath() + "\r\nQUIT\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            r = reply(in);
            Result result = r.startsWith("2") ? Result.VALID : r.startsWith("5") ? Result.UNKNOWN_USER : Result.TRY_LATER;
            return new Verdict(result, r);
        } catch (IOException | RuntimeException e) {
            LOG.info("Recipient verification of {} at {}:{} failed: {}", rcpt, host, port, e.toString());
            return new Verdict(Result.TRY_LATER, "next hop not reachable");
        }
    }

    /** The last line of a (multi-line) reply, at most 512 characters. */
    private static String reply(BufferedReader in) throws IOException {
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed");
            }
            if (line.length() < 4 || line.charAt(3) != '-') {
                return TraceHeaders.printable(line.length() > 512 ? line.substring(0, 512) : line);
            }
        }
    }
}
