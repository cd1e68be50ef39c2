package org.hermod.delivery.internal.smtp;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.Test;

/** The bulk-copying stuffer against the per-byte one it replaced (kept here as the oracle), on random inputs. */
public class DotStufferTest {

    /** The per-byte implementation before issue 12: the reference semantics. */
    static ByteBuf oracle(byte[] content, ByteBufAllocator alloc) {
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

    private static byte[] bytes(ByteBuf b) {
        try {
            return ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }

    private static void same(byte[] in) {
        ByteBufAllocator a = UnpooledByteBufAllocator.DEFAULT;
        DotStuffer.Stuffed s = DotStuffer.stuffScanning(in, a);
        assertArrayEquals(new String(in, StandardCharsets.ISO_8859_1), bytes(oracle(in, a)), bytes(s.data()));
        assertEquals(DotStuffer.hasEightBit(in), s.eightBit());
    }

    @Test
    public void randomInputsFromASmallAlphabetStuffExactlyLikeThePerByteOracle() {
        Random r = new Random(12);
        byte[] alphabet = {'.', '\r', '\n', 'a', '.', '\n', (byte) 0xe9, ' '};
        for (int round = 0; round < 20_000; round++) {
            byte[] in = new byte[r.nextInt(round < 10_000 ? 40 : 300)];
            for (int i = 0; i < in.length; i++) {
                in[i] = r.nextInt(4) == 0 ? alphabet[r.nextInt(alphabet.length)] : (byte) r.nextInt(256);
            }
            same(in);
        }
    }

    @Test
    public void edgeCasesAtTheStartTheEndAndAroundWordBoundaries() {
        for (String s : new String[] {"", ".", "\n", "\r", "\r\n", "..", ".\n", "\n.", "a", "a\r", "a\n.\r\n.",
                "1234567\n", "12345678\n.", "1234567.\n.\n", "\r\r\n\n", "line\r\n.\r\n", ".a\r\nb\n..c"}) {
            same(s.getBytes(StandardCharsets.ISO_8859_1));
        }
        for (int pos = 0; pos < 40; pos++) { // an LF (and a dot after it) at every offset within and across longs
            byte[] in = new byte[40];
            java.util.Arrays.fill(in, (byte) 'x');
            in[pos] = '\n';
            if (pos + 1 < in.length) {
                in[pos + 1] = '.';
            }
            same(in);
            assertEquals(pos, DotStuffer.indexOfLf(in, 0));
            assertEquals(pos, DotStuffer.indexOfLf(in, pos));
            assertEquals(-1, DotStuffer.indexOfLf(in, pos + 1));
        }
    }

    @Test
    public void eightBitContentIsFoundAtAnyOffset() {
        for (int len = 0; len < 3000; len += len < 80 ? 1 : 37) {
            byte[] in = new byte[len];
            java.util.Arrays.fill(in, (byte) 'a');
            assertFalse(DotStuffer.hasEightBit(in));
            DotStuffer.Stuffed plain = DotStuffer.stuffScanning(in, UnpooledByteBufAllocator.DEFAULT);
            plain.data().release();
            assertFalse(plain.eightBit());
            for (int pos : len <= 80 ? java.util.stream.IntStream.range(0, len).toArray() // every offset
                    : new int[] {0, 1, 7, 8, len / 2, len - 9, len - 8, len - 1}) {
                byte[] c = in.clone();
                c[pos] = (byte) 0x80;
                assertTrue(len + "@" + pos, DotStuffer.hasEightBit(c));
                DotStuffer.Stuffed alone = DotStuffer.stuffScanning(c, UnpooledByteBufAllocator.DEFAULT);
                alone.data().release();
                assertTrue(len + "@" + pos, alone.eightBit());
                c[pos] = (byte) (pos % 3 == 0 ? 0x80 : 0xff);
                if (pos > 0) {
                    c[pos - 1] = '\n'; // an LF just before it: the stuffing scan resumes after each LF
                }
                DotStuffer.Stuffed s = DotStuffer.stuffScanning(c, UnpooledByteBufAllocator.DEFAULT);
                s.data().release();
                assertTrue(len + "@" + pos, s.eightBit());
            }
        }
    }

    @Test
    public void sevenBitInputsWithLinesAndDotsAreNeverTakenForEightBit() {
        Random r = new Random(7);
        byte[] alphabet = {'.', '\r', '\n', 'a', '.', '\n', 0x7f, ' '};
        for (int round = 0; round < 10_000; round++) {
            byte[] in = new byte[r.nextInt(round < 5_000 ? 40 : 300)];
            for (int i = 0; i < in.length; i++) {
                in[i] = r.nextInt(3) == 0 ? alphabet[r.nextInt(alphabet.length)] : (byte) r.nextInt(128);
            }
            same(in); // the oracle's bytes, and eightBit equal to hasEightBit
            assertFalse(DotStuffer.hasEightBit(in));
        }
    }
}
