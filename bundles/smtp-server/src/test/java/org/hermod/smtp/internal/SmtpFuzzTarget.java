package org.hermod.smtp.internal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * The fuzz target over the SMTP command parser, the frame decoder (lines, DATA, BDAT) and the session state machine,
 * usable by Jazzer's JUnit integration ({@link SmtpFuzzTest}) and its CLI (bench/fuzz.sh):
 * {@code fuzzerTestOneInput(byte[])}. The first byte picks settings (bare-newline mode, a small size limit, the
 * submission rules) and how the rest is cut into packets. What must hold for every input: no exception other than a
 * syntax error from the parser; every reply line is "NNN " or "NNN-"; a closed session ended with 221 or 421 (never
 * silently, which is what an uncaught exception does); and all message memory is given back.
 */
public final class SmtpFuzzTarget {

    private static final Pattern REPLY_LINE = Pattern.compile("[2-5][0-9][0-9][ -].*");

    private SmtpFuzzTarget() {
    }

    public static void fuzzerTestOneInput(byte[] data) {
        if (data.length == 0) {
            return;
        }
        parser(new String(data, StandardCharsets.UTF_8));
        session(data[0], Arrays.copyOfRange(data, 1, data.length));
    }

    private static void parser(String s) {
        for (String[] k : new String[][] {{"FROM", "5.1.7"}, {"TO", "5.1.3"}}) {
            try {
                SmtpArguments.parse(s, k[0], k[0].equals("FROM"), k[1]);
            } catch (SmtpArguments.SyntaxException expected) {
                // a reply, not a crash
            }
        }
        try {
            SmtpArguments.xtextDecode(s);
        } catch (SmtpArguments.SyntaxException expected) {
            // a reply, not a crash
        }
    }

    private static void session(byte mode, byte[] input) {
        SmtpSettings s = TestConfig.settings("hostname", "mx.test", "relayDomains", new String[] {"relay.test"},
                "bareNewline", (mode & 1) != 0 ? "normalize" : "reject",
                "maxMessageSize", (mode & 2) != 0 ? 200L : 36_700_160L, "maxRecipients", 5);
        DataBudget budget = new DataBudget(1L << 20);
        SmtpSessionTest.RecordingSpool spool = new SmtpSessionTest.RecordingSpool();
        Authenticator auth = (u, p) -> CompletableFuture.completedFuture(u.equals("u"));
        SmtpFrameDecoder framer = new SmtpFrameDecoder(s.normalizeBareNewlines(), budget);
        ListenerMode listener = (mode & 4) != 0 ? ListenerMode.SUBMISSION : ListenerMode.MTA;
        EmbeddedChannel ch = new EmbeddedChannel(framer, new SmtpSession(s, new SessionServices(spool,
                RecipientPolicy.NONE, listener, null, auth, new ClientRates(),
                RecipientMap.of("alice@relay.test"), SmtpEvents.NONE, null), framer));
        ch.freezeTime();
        StringBuilder out = new StringBuilder();
        int packet = ((mode >> 3) & 0x1F) + 1;
        for (int i = 0; i < input.length && ch.isActive(); i += packet) {
            ch.writeInbound(Unpooled.wrappedBuffer(input, i, Math.min(packet, input.length - i)));
            ch.runPendingTasks();
            drain(ch, out);
        }
        boolean closedByServer = !ch.isActive();
        drain(ch, out);
        String replies = out.toString();
        String last = "";
        for (String line : replies.split("\r\n")) {
            if (!line.isEmpty() && !REPLY_LINE.matcher(line).matches()) {
                throw new IllegalStateException("malformed reply line: " + line);
            }
            last = line;
        }
        if (closedByServer && !(last.startsWith("221 ") || last.startsWith("421 "))) {
            throw new IllegalStateException("session closed without 221/421, last reply: " + last);
        }
        ch.finishAndReleaseAll();
        if (budget.used() != 0) {
            throw new IllegalStateException("message memory not given back: " + budget.used());
        }
    }

    private static void drain(EmbeddedChannel ch, StringBuilder out) {
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
    }
}
