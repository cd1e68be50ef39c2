package org.hermod.delivery.internal.smtp;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;

/**
 * Not a test: prints ns per 100 KB message for the outbound byte path (dot-stuffing, old vs new, and the 8-bit scan
 * of {@code Transaction.Message.of}). Run with {@code java -cp ... DotStufferBench} after {@code test-compile}.
 */
public final class DotStufferBench {

    private DotStufferBench() {
    }

    public static void main(String[] args) {
        StringBuilder sb = new StringBuilder("From: a@x.test\r\nTo: b@y.test\r\nSubject: bench\r\n\r\n");
        while (sb.length() < 100 * 1024) {
            sb.append("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt\r\n");
            if (sb.length() % 7 == 0) {
                sb.append(".leading dot\r\n");
            }
        }
        byte[] msg = sb.toString().getBytes(StandardCharsets.US_ASCII);
        Envelope env = new Envelope(MailAddress.parse("a@x.test"), java.util.List.of(Recipient.of(MailAddress.parse("b@y.test"))),
                null, null, Envelope.BodyType.SEVEN_BIT, false, "h", "127.0.0.1", null);
        ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        for (int round = 0; round < 3; round++) {
            System.out.printf("round %d: %d bytes; old stuff %,d ns, new stuff %,d ns, old 8-bit scan %,d ns, new %,d ns%n",
                    round, msg.length, time(() -> DotStufferTest.oracle(msg, alloc).release()),
                    time(() -> DotStuffer.stuff(msg, alloc).release()), time(() -> oldEightBit(msg)),
                    time(() -> Transaction.Message.of(env, msg).eightBit()));
        }
    }

    private static boolean oldEightBit(byte[] content) {
        for (byte b : content) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }

    static volatile Object sink;

    private static long time(java.util.function.Supplier<Object> op) {
        for (int i = 0; i < 20_000; i++) {
            sink = op.get();
        }
        int n = 20_000;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sink = op.get();
        }
        return (System.nanoTime() - t0) / n;
    }
}
