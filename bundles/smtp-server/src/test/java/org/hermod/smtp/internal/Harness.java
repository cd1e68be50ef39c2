package org.hermod.smtp.internal;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/** A session on an EmbeddedChannel with a frozen clock, a recording spool and per-test settings and services. */
final class Harness {

    final SmtpSessionTest.RecordingSpool spool = new SmtpSessionTest.RecordingSpool();
    final DataBudget budget = new DataBudget(1L << 30);
    final ClientRates rates = new ClientRates();
    final EmbeddedChannel ch;

    Harness(RecipientMap recipients, Object... settings) {
        this(recipients, null, settings);
    }

    Harness(RecipientMap recipients, RecipientVerifier verifier, Object... settings) {
        this(x -> x, recipients, verifier, settings);
    }

    /** With services changed from the default ones (filters, an LDAP directory). */
    Harness(java.util.function.UnaryOperator<SessionServices> change, RecipientMap recipients,
            RecipientVerifier verifier, Object... settings) {
        Object[] base = {"hostname", "mx.test", "relayDomains", new String[] {"relay.test"}};
        Object[] all = new Object[base.length + settings.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(settings, 0, all, base.length, settings.length);
        SmtpSettings s = TestConfig.settings(all);
        SmtpFrameDecoder framer = new SmtpFrameDecoder(s.normalizeBareNewlines(), budget);
        ch = new EmbeddedChannel(framer, new SmtpSession(s, change.apply(new SessionServices(spool,
                RecipientPolicy.NONE, ListenerMode.MTA, null, null, rates, recipients, SmtpEvents.NONE, verifier)),
                framer));
        ch.freezeTime();
        replies();
    }

    /** Sends raw text and returns all replies it caused. */
    String send(String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
        ch.runPendingTasks();
        return replies();
    }

    /** Sends and waits (at most 10 s) until an asynchronous step answered: polls the channel's task queue. */
    String sendAndAwait(String s) throws InterruptedException {
        String r = send(s);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (r.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5); // poll interval
            ch.runPendingTasks();
            r = replies();
        }
        return r;
    }

    String replies() {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return sb.toString();
    }

    String content(int i) {
        return new String(spool.contents.get(i), StandardCharsets.UTF_8);
    }
}
