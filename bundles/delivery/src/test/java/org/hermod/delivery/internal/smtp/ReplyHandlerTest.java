package org.hermod.delivery.internal.smtp;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import org.hermod.api.SmtpReply;
import org.junit.Test;

public class ReplyHandlerTest {

    @Test
    public void multiLineRepliesSplitAcrossPacketsAreMatchedInOrder() {
        ReplyHandler h = new ReplyHandler();
        EmbeddedChannel ch = new EmbeddedChannel(new LineBasedFrameDecoder(8192, true, false), h);
        CompletableFuture<SmtpReply> ehlo = h.expect(10_000, "EHLO", true);
        CompletableFuture<SmtpReply> rcpt = h.expect(10_000, "RCPT", true);
        ch.writeInbound(Unpooled.copiedBuffer("250-mx hello\r\n250-PIPE", StandardCharsets.US_ASCII));
        assertFalse(ehlo.isDone());
        ch.writeInbound(Unpooled.copiedBuffer("LINING\r\n250 SIZE 1000\r\n550 5.1.1 <x@y> unknown\r\n",
                StandardCharsets.US_ASCII));
        SmtpReply r = ehlo.join();
        assertEquals(250, r.code());
        assertEquals(List.of("mx hello", "PIPELINING", "SIZE 1000"), r.lines());
        Capabilities caps = Capabilities.fromEhlo(r);
        assertTrue(caps.pipelining());
        assertEquals(1000, caps.maxSize());
        SmtpReply refused = rcpt.join();
        assertEquals(550, refused.code());
        assertEquals("5.1.1", refused.enhancedStatus());
        assertEquals("<x@y> unknown", refused.text());
    }

    @Test
    public void replyWithoutEnhancedCode() {
        SmtpReply r = ReplyHandler.parse(List.of("421 mx closing"));
        assertNull(r.enhancedStatus());
        assertEquals("mx closing", r.text());
        assertNull("class must match", ReplyHandler.parse(List.of("250 5.1.1 odd")).enhancedStatus());
        // RFC 3463: class.subject.detail, one to three digits each; anything else is text
        assertEquals("5.7.133", ReplyHandler.parse(List.of("550 5.7.133 blocked")).enhancedStatus());
        assertEquals("4.7.0", ReplyHandler.parse(List.of("421 4.7.0")).enhancedStatus());
        for (String text : new String[] {"5.7.1334 x", "5.7 x", "5..1 x", "5.1.1a x", "5.1. x", "5.a.1 x", "5.1.1.1 x"}) {
            SmtpReply odd = ReplyHandler.parse(List.of("550 " + text));
            assertNull(text, odd.enhancedStatus());
            assertEquals(text, odd.text());
        }
    }

    @Test
    public void malformedReplyFailsWaitingCommands() {
        ReplyHandler h = new ReplyHandler();
        EmbeddedChannel ch = new EmbeddedChannel(new LineBasedFrameDecoder(8192, true, false), h);
        CompletableFuture<SmtpReply> f = h.expect(10_000, "MAIL", true);
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 400 Bad Request\r\n", StandardCharsets.US_ASCII));
        assertTrue(f.isCompletedExceptionally());
        assertFalse(ch.isActive());
    }

    @Test
    public void dotStuffing() {
        var buf = DotStuffer.stuff(".a\r\nb\n..c".getBytes(StandardCharsets.US_ASCII), ByteBufAllocator.DEFAULT);
        assertEquals("..a\r\nb\r\n...c\r\n.\r\n", buf.toString(StandardCharsets.US_ASCII));
        buf.release();
    }
}
