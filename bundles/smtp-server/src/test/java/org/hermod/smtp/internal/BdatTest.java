package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** CHUNKING (RFC 3030): the same end-of-data, size and durability rules as DATA, and no way to smuggle commands. */
public class BdatTest {

    @Test
    public void aMessageInChunksIsStoredLiterallyAndAnsweredOncePerChunk() {
        Harness h = new Harness(null);
        assertTrue(h.send("EHLO c\r\n").contains("250-CHUNKING"));
        String part1 = "Subject: b\r\n\r\n.a dot\r\n.\r\n";
        String part2 = "end\r\n";
        String r = h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\nBDAT " + part1.length() + "\r\n" + part1
                + "BDAT " + part2.length() + " LAST\r\n" + part2);
        assertEquals("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 " + part1.length() + " octets received\r\n"
                + "250 2.0.0 Ok: queued as Q1\r\n", r);
        // no dot-unstuffing, and "." CRLF inside a chunk ends nothing
        assertTrue(h.content(0), h.content(0).endsWith("Subject: b\r\n\r\n.a dot\r\n.\r\nend\r\n"));
    }

    @Test
    public void chunkBytesAreNeverCommandsEvenWhenTheChunkIsRefused() {
        Harness h = new Harness(null);
        h.send("EHLO c\r\n");
        String evil = "MAIL FROM:<evil@x.test>\r\nRCPT TO:<v@relay.test>\r\n";
        String r = h.send("BDAT " + evil.length() + " LAST\r\n" + evil + "NOOP\r\n");
        assertEquals("503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n", r);
        assertTrue(h.spool.envelopes.isEmpty());
    }

    @Test
    public void sizeLimitHoldsAcrossChunksAndTheSessionGoesOn() {
        Harness h = new Harness(null, "maxMessageSize", 100L);
        h.send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        String chunk = "x".repeat(58) + "\r\n";
        assertTrue(h.send("BDAT 60\r\n" + chunk).startsWith("250 2.0.0 60 octets"));
        assertTrue(h.send("BDAT 60\r\n" + chunk).startsWith("552 5.3.4"));
        assertTrue("the failed transaction is gone", h.send("BDAT 60 LAST\r\n" + chunk).startsWith("503 5.5.1"));
        assertTrue(h.spool.envelopes.isEmpty());
        assertEquals(0, h.budget.used());
        h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        assertTrue(h.send("BDAT 0 LAST\r\n").startsWith("250 2.0.0 Ok: queued"));
    }

    @Test
    public void bareLineFeedsAndOverlongLinesAreRefusedAsInData() {
        Harness h = new Harness(null);
        h.send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        assertTrue(h.send("BDAT 12 LAST\r\nSubject: x\n\n").startsWith("554 5.5.2"));
        h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        String longLine = "y".repeat(1200) + "\r\n";
        assertTrue(h.send("BDAT " + longLine.length() + " LAST\r\n" + longLine).startsWith("554 5.6.0"));
        h.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        assertTrue("a CR split from its LF by a chunk boundary is fine",
                h.send("BDAT 3\r\nab\rBDAT 1 LAST\r\n\n").endsWith("250 2.0.0 Ok: queued as Q1\r\n"));
        assertTrue(h.content(0).endsWith("ab\r\n"));
    }

    @Test
    public void dataInsideABdatTransactionAndABadCountAreRefused() {
        Harness h = new Harness(null);
        h.send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\nBDAT 3\r\nabc");
        assertTrue(h.send("DATA\r\n").startsWith("503 5.5.1"));
        String r = h.send("BDAT lots\r\n");
        assertTrue(r, r.startsWith("501 5.5.4") && r.contains("421 4.7.0"));
        assertFalse(h.ch.isActive());
    }

    @Test
    public void memoryPerSessionStaysBoundedWhateverTheInput() {
        SmtpFrameDecoder framer = new SmtpFrameDecoder(false, new DataBudget(1L << 30));
        SmtpSettings s = TestConfig.settings("hostname", "mx.test", "maxErrors", 1_000_000);
        io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(framer,
                new SmtpSession(s, new SessionServices(new SmtpSessionTest.RecordingSpool(), RecipientPolicy.NONE,
                        ListenerMode.MTA, null, null, new ClientRates(), null, SmtpEvents.NONE, null), framer));
        byte[] junk = new byte[64 * 1024];
        java.util.Arrays.fill(junk, (byte) 'x');
        int most = 0;
        for (int i = 0; i < 160; i++) { // 10 MiB without a line end, then with bare LFs
            if (i == 80) {
                for (int k = 0; k < junk.length; k += 50) {
                    junk[k] = '\n';
                }
            }
            ch.writeInbound(io.netty.buffer.Unpooled.wrappedBuffer(junk));
            most = Math.max(most, framer.buffered());
            io.netty.buffer.ByteBuf b;
            while ((b = ch.readOutbound()) != null) {
                b.release();
            }
        }
        assertTrue("at most one command line is held: " + most, most <= SmtpFrameDecoder.MAX_COMMAND_LINE + 1);
        assertTrue(ch.isActive());
    }

    @Test
    public void bdatAfterHeloIsRefused() {
        Harness h = new Harness(null);
        h.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        assertTrue(h.send("BDAT 2 LAST\r\nhi").startsWith("503 5.5.1 Error: send EHLO first"));
    }

    /** Sends {@code chunk} every {@code every} seconds until the session ends; returns the seconds it lasted. */
    private static int drip(Harness h, String chunk, int every, int most) {
        int seconds = 0;
        while (h.ch.isActive() && seconds < most) {
            h.send(chunk);
            h.ch.advanceTimeBy(every, java.util.concurrent.TimeUnit.SECONDS);
            seconds += every;
            h.ch.runScheduledPendingTasks();
        }
        return seconds;
    }

    @Test
    public void tinyChunksEveryFewMinutesMeetTheDataRateOfTheWholeTransaction() {
        for (String chunk : new String[] {"BDAT 1\r\nx", "BDAT 0\r\n"}) {
            Harness h = new Harness(null);
            h.send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
            // each chunk comes well inside the 180 s data and 300 s command timeouts, and within the session lifetime
            int seconds = drip(h, chunk, 100, 3000);
            assertFalse(chunk + ": still open after " + seconds + " s", h.ch.isActive());
            assertTrue(chunk + ": closed after about the 180 s data timeout, not later: " + seconds, seconds <= 300);
            assertTrue(h.spool.envelopes.isEmpty());
        }
    }

    @Test
    public void aSlowChunkedTransactionIsClosedAsDataTooSlow() {
        Harness h = new Harness(null);
        h.send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@relay.test>\r\n");
        StringBuilder all = new StringBuilder();
        int seconds = 0;
        while (h.ch.isActive() && seconds < 3000) {
            h.ch.writeInbound(io.netty.buffer.Unpooled.copiedBuffer("BDAT 1\r\nx", java.nio.charset.StandardCharsets.UTF_8));
            h.ch.advanceTimeBy(100, java.util.concurrent.TimeUnit.SECONDS);
            seconds += 100;
            h.ch.runScheduledPendingTasks();
            h.ch.runPendingTasks();
            all.append(h.replies());
        }
        assertTrue(all.toString(), all.toString().endsWith("421 4.4.2 mx.test Error: data transfer too slow\r\n"));
    }
}
