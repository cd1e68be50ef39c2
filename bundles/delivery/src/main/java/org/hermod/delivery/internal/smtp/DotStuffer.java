package org.hermod.delivery.internal.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Turns message content into the DATA stream: CRLF line ends, leading dots doubled, terminated by CRLF.CRLF. */
public final class DotStuffer {

    private DotStuffer() {
    }

    /**
     * @param content the message, lines ending in CRLF (a bare LF is turned into CRLF)
     * @return a new buffer the caller owns
     */
    public static ByteBuf stuff(byte[] content, ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(content.length + content.length / 64 + 8);
        boolean lineStart = true;
        byte prev = 0;
        for (byte b : content) {
            if (lineStart && b == '.') {
                out.writeByte('.');
            }
            if (b == '\n' && prev != '\r') {
                out.writeByte('\r');
            }
            out.writeByte(b);
            lineStart = b == '\n';
            prev = b;
        }
        if (content.length > 0 && !lineStart) {
            out.writeByte('\r').writeByte('\n');
        }
        out.writeByte('.').writeByte('\r').writeByte('\n');
        return out;
    }
}
