package org.hermod.delivery.internal.smtp;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Turns message content into the DATA stream: CRLF line ends, leading dots doubled, terminated by CRLF.CRLF.
 *
 * <p>It finds the line ends eight bytes at a time (a SWAR search over the array read as longs) and copies the runs
 * between the places that change in bulk: only a bare LF (a CR is inserted) and a dot at a line start (doubled) break a
 * run, so a message with CRLF lines and no leading dots is copied in one {@code writeBytes} per line.
 */
public final class DotStuffer {

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long LFS = ONES * '\n';
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] END = {'.', '\r', '\n'};

    private DotStuffer() {
    }

    /** The DATA stream of some content (the caller owns it), and whether the content has 8-bit octets. */
    public record Stuffed(ByteBuf data, boolean eightBit) {
    }

    /**
     * @param content the message, lines ending in CRLF (a bare LF is turned into CRLF)
     * @return a new buffer the caller owns
     */
    public static ByteBuf stuff(byte[] content, ByteBufAllocator alloc) {
        return stuffScanning(content, alloc).data();
    }

    /**
     * Like {@link #stuff}, and tells in the same pass over the content whether it has 8-bit octets (what
     * {@link #hasEightBit} answers), so the content is read once rather than twice.
     */
    public static Stuffed stuffScanning(byte[] content, ByteBufAllocator alloc) {
        int n = content.length;
        ByteBuf out = alloc.buffer(n + n / 64 + 8);
        Scan scan = new Scan();
        int from = 0; // start of the run not yet copied
        if (n > 0 && content[0] == '.') {
            out.writeByte('.');
        }
        int lf = scan.indexOfLf(content, 0);
        while (lf >= 0) {
            if (lf == 0 || content[lf - 1] != '\r') {
                out.writeBytes(content, from, lf - from).writeByte('\r');
                from = lf;
            }
            int next = lf + 1;
            if (next < n && content[next] == '.') {
                out.writeBytes(content, from, next - from).writeByte('.');
                from = next;
            }
            lf = scan.indexOfLf(content, next);
        }
        out.writeBytes(content, from, n - from);
        if (n > 0 && content[n - 1] != '\n') {
            out.writeBytes(CRLF);
        }
        return new Stuffed(out.writeBytes(END), (scan.seen & HIGHS) != 0);
    }

    /** The index of the first LF at or after {@code from}, or -1. */
    static int indexOfLf(byte[] a, int from) {
        return new Scan().indexOfLf(a, from);
    }

    /**
     * The LF search; it also ORs every octet it reads into {@link #seen}. The searches of one stuffing run from each LF
     * to the next and the last to the end, so together they read every octet.
     */
    private static final class Scan {
        long seen;

        int indexOfLf(byte[] a, int from) {
            long acc = 0;
            int i = from;
            int limit = a.length - 8;
            for (; i <= limit; i += 8) {
                long w = (long) LONGS.get(a, i);
                acc |= w;
                long x = w ^ LFS;
                long found = (x - ONES) & ~x & HIGHS; // the lowest set high bit marks the first LF exactly
                if (found != 0) {
                    seen |= acc;
                    return i + (Long.numberOfTrailingZeros(found) >>> 3);
                }
            }
            for (; i < a.length; i++) {
                acc |= a[i] & 0xff;
                if (a[i] == '\n') {
                    seen |= acc;
                    return i;
                }
            }
            seen |= acc;
            return -1;
        }
    }

    /** Whether any byte has the high bit set (8-bit content), eight bytes at a time. */
    public static boolean hasEightBit(byte[] a) {
        int i = 0;
        long acc = 0;
        int limit = a.length - 8;
        for (; i <= limit; i += 8) {
            acc |= (long) LONGS.get(a, i);
            if ((i & 0x3ff) == 0 && (acc & HIGHS) != 0) {
                return true; // checked now and then: the loop body stays branch-light
            }
        }
        for (; i < a.length; i++) {
            acc |= a[i] & 0xff;
        }
        return (acc & HIGHS) != 0;
    }
}
