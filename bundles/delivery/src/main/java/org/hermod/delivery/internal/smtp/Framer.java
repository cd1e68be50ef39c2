package org.hermod.delivery.internal.smtp;

import io.netty.handler.codec.LineBasedFrameDecoder;

/** Splits the server's replies into lines, and tells how many received bytes are not yet framed. */
final class Framer extends LineBasedFrameDecoder {

    static final String NAME = "framer";

    Framer() {
        super(8192, true, false);
    }

    /** Bytes received and not yet passed on as lines (a partial line, or lines still to be decoded). */
    int buffered() {
        return actualReadableBytes();
    }
}
