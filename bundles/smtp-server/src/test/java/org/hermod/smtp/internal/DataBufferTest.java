package org.hermod.smtp.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.Test;

/**
 * How much memory a message being received takes: a message that fits the size the client declared is held in the one
 * buffer allocated for it at DATA, and a larger one grows by whole doublings without copying what it already holds.
 */
public class DataBufferTest {

    private static final long MAX = 10L * 1024 * 1024;

    @Test
    public void aMessageWithinItsDeclaredSizeIsHeldInOneBuffer() {
        byte[] body = lines(3000);
        Received r = receive(body, 4096);
        assertArrayEquals(body, r.bytes());
        assertEquals(1, r.parts());
    }

    @Test
    public void aLargerMessageGrowsByDoublingWithoutLosingOrMovingItsBytes() {
        byte[] body = lines(300_000);
        Received r = receive(body, 4096);
        assertArrayEquals(body, r.bytes());
        // 4 KB, then parts of 4, 8, ... 256 KB: eight parts up to 512 KB, not dozens of small ones
        assertTrue("parts: " + r.parts(), r.parts() <= 8);
        assertTrue("capacity: " + r.capacity(), r.capacity() <= 2 * body.length);
    }

    /** What the decoder held for a message: its octets, in how many parts, in how much room. */
    private record Received(byte[] bytes, int parts, int capacity) {
    }

    /** CRLF lines of text (no leading dots) of about {@code n} octets. */
    private static byte[] lines(int n) {
        StringBuilder b = new StringBuilder(n + 80);
        for (int i = 0; b.length() < n; i++) {
            b.append("line ").append(i).append(" of the body of a message being received\r\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static Received receive(byte[] body, int declared) {
        DataBudget budget = new DataBudget(64L * 1024 * 1024);
        SmtpFrameDecoder decoder = new SmtpFrameDecoder(false, budget);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        ChannelHandlerContext ctx = ch.pipeline().context(decoder);
        decoder.startData(ctx, MAX, declared);
        for (int i = 0; i < body.length; i += 1400) { // in packets, as TCP delivers them
            ch.writeInbound(Unpooled.wrappedBuffer(body, i, Math.min(1400, body.length - i)));
        }
        ch.writeInbound(Unpooled.wrappedBuffer(".\r\n".getBytes(StandardCharsets.US_ASCII)));
        SmtpFrameDecoder.DataEnd end = ch.readInbound();
        ch.finishAndReleaseAll();
        assertEquals(SmtpFrameDecoder.Violation.NONE, end.violation());
        assertEquals(body.length, end.size());
        CompositeByteBuf c = (CompositeByteBuf) end.content();
        try {
            return new Received(ByteBufUtil.getBytes(c), c.numComponents(), c.capacity());
        } finally {
            c.release();
        }
    }
}
