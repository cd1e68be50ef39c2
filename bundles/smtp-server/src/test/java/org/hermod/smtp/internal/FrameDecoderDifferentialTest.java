package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.junit.Test;

/**
 * The bulk DATA/BDAT path of {@link SmtpFrameDecoder} against the byte-at-a-time decoder it replaced
 * ({@link OracleFrameDecoder}): random messages rich in dots, bare CRs and LFs, smuggling sequences, long lines and
 * large runs, cut into packets at random places, in both bare-newline modes and with small size and memory limits,
 * must give the same frames (commands after the end of data included), the same content, size, violation and held
 * budget, and the same budget in use after every packet.
 */
public class FrameDecoderDifferentialTest {

    private static final String[] TOKENS = {"\r\n", "\r", "\n", ".", "..", "\r\n.\r\n", "\n.\n", "\r.\r", "\n.\r\n",
        "\r\n.\r", "\r\n.\n", ".\r\n", "a", "Subject: x", "\r\n\r\n", "\r\n..\r\n", "NOOP\r\n"};

    @Test
    public void dataDecodesLikeTheOracle() {
        Random r = new Random(0x5e7a);
        for (int n = 0; n < 6000; n++) {
            Case c = Case.random(r, n);
            byte[] input = message(r, n % 50 == 0);
            assertSame(c, input, splits(r, input.length), false, null);
        }
    }

    @Test
    public void bdatDecodesLikeTheOracle() {
        Random r = new Random(0xbda7);
        for (int n = 0; n < 4000; n++) {
            Case c = Case.random(r, n);
            byte[] input = message(r, n % 50 == 0);
            int chunks = 1 + r.nextInt(4);
            int[] sizes = new int[chunks];
            int left = input.length;
            for (int k = 0; k < chunks - 1; k++) {
                sizes[k] = left == 0 ? 0 : r.nextInt(left + 1);
                left -= sizes[k];
            }
            sizes[chunks - 1] = left;
            assertSame(c, input, splits(r, input.length), true, sizes);
        }
    }

    private void assertSame(Case c, byte[] input, List<Integer> cuts, boolean bdat, int[] chunkSizes) {
        DataBudget oracleBudget = new DataBudget(c.budget);
        DataBudget bulkBudget = new DataBudget(c.budget);
        Driver oracle = new Driver(new OracleFrameDecoder(c.normalize, oracleBudget), oracleBudget);
        Driver bulk = new Driver(new SmtpFrameDecoder(c.normalize, bulkBudget), bulkBudget);
        String what = c + " input=" + printable(input) + " cuts=" + cuts;
        if (bdat) {
            int pos = 0;
            for (int k = 0; k < chunkSizes.length; k++) {
                byte[] chunk = java.util.Arrays.copyOfRange(input, pos, pos + chunkSizes[k]);
                pos += chunkSizes[k];
                boolean first = k == 0;
                assertEquals(what, oracle.startChunk(chunk.length, first, c.maxSize),
                        bulk.startChunk(chunk.length, first, c.maxSize));
                feed(what, oracle, bulk, chunk, splits(new Random(k * 31L + chunk.length), chunk.length));
            }
            assertEquals(what, oracle.endChunks(), bulk.endChunks());
        } else {
            oracle.startData(c.maxSize);
            bulk.startData(c.maxSize);
            feed(what, oracle, bulk, input, cuts);
        }
        assertEquals(what, oracle.budget.used(), bulk.budget.used());
        oracle.close();
        bulk.close();
    }

    private static void feed(String what, Driver oracle, Driver bulk, byte[] input, List<Integer> cuts) {
        int from = 0;
        for (int cut : cuts) {
            byte[] packet = java.util.Arrays.copyOfRange(input, from, cut);
            from = cut;
            assertEquals(what + " after " + cut, oracle.write(packet), bulk.write(packet));
            assertEquals(what + " budget after " + cut, oracle.budget.used(), bulk.budget.used());
        }
    }

    /** A message body: random tokens and text runs (sometimes long lines, sometimes past a 64 KB memory chunk). */
    private static byte[] message(Random r, boolean large) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int parts = r.nextInt(large ? 400 : 40);
        for (int k = 0; k < parts; k++) {
            int pick = r.nextInt(10);
            if (pick < 6) {
                b.writeBytes(TOKENS[r.nextInt(TOKENS.length)].getBytes(StandardCharsets.US_ASCII));
            } else if (pick < 9) {
                b.writeBytes("x".repeat(r.nextInt(80)).getBytes(StandardCharsets.US_ASCII));
            } else {
                int len = large ? r.nextInt(3000) : 990 + r.nextInt(20);
                b.writeBytes("y".repeat(len).getBytes(StandardCharsets.US_ASCII));
            }
        }
        if (r.nextInt(4) > 0) {
            b.writeBytes("\r\n.\r\nQUIT\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return b.toByteArray();
    }

    /** Packet ends: ascending cut points, the last one the input's length. */
    private static List<Integer> splits(Random r, int length) {
        List<Integer> cuts = new ArrayList<>();
        int at = 0;
        while (at < length) {
            int step = r.nextInt(3) == 0 ? 1 + r.nextInt(3) : 1 + r.nextInt(Math.max(1, length / 3));
            at = Math.min(length, at + step);
            cuts.add(at);
        }
        if (cuts.isEmpty()) {
            cuts.add(0);
        }
        return cuts;
    }

    private static String printable(byte[] b) {
        String s = new String(b, StandardCharsets.US_ASCII).replace("\r", "<CR>").replace("\n", "<LF>");
        return s.length() > 600 ? s.substring(0, 600) + "...(" + b.length + ")" : s;
    }

    /** Limits and mode of one case. */
    private record Case(boolean normalize, long maxSize, long budget) {
        static Case random(Random r, int n) {
            long[] sizes = {40, 300, 2000, 70_000, 36_700_160L};
            long[] budgets = {DataBudget.CHUNK, 2L * DataBudget.CHUNK, 1L << 30};
            return new Case(r.nextBoolean(), sizes[r.nextInt(sizes.length)],
                    n % 50 == 0 ? budgets[r.nextInt(2)] : budgets[r.nextInt(budgets.length)]);
        }
    }

    /** One decoder in a channel; frames are turned into comparable values (content as text, memory released). */
    private static final class Driver {
        final ByteToMessageDecoder decoder;
        final DataBudget budget;
        final EmbeddedChannel channel;

        Driver(ByteToMessageDecoder decoder, DataBudget budget) {
            this.decoder = decoder;
            this.channel = new EmbeddedChannel(decoder);
            this.budget = budget;
        }

        ChannelHandlerContext ctx() {
            return channel.pipeline().context(decoder);
        }

        void startData(long maxSize) {
            if (decoder instanceof SmtpFrameDecoder d) {
                d.startData(ctx(), maxSize, 256);
            } else {
                ((OracleFrameDecoder) decoder).startData(ctx(), maxSize, 256);
            }
        }

        Object startChunk(long octets, boolean first, long maxSize) {
            return decoder instanceof SmtpFrameDecoder d ? d.startChunk(ctx(), octets, true, first, maxSize, 256)
                    : ((OracleFrameDecoder) decoder).startChunk(ctx(), octets, true, first, maxSize, 256);
        }

        Object endChunks() {
            return value(decoder instanceof SmtpFrameDecoder d ? d.endChunks() : ((OracleFrameDecoder) decoder).endChunks());
        }

        List<Object> write(byte[] packet) {
            channel.writeInbound(Unpooled.wrappedBuffer(packet));
            List<Object> frames = new ArrayList<>();
            Object f;
            while ((f = channel.readInbound()) != null) {
                frames.add(value(f));
            }
            return frames;
        }

        private Object value(Object frame) {
            if (frame instanceof SmtpFrameDecoder.DataEnd e) {
                String content = null;
                if (e.content() != null) {
                    ByteBuf c = e.content();
                    content = new String(ByteBufUtil.getBytes(c), StandardCharsets.ISO_8859_1);
                    c.release();
                    budget.release(e.held());
                }
                return List.of(String.valueOf(content), e.size(), e.violation(), e.held());
            }
            return frame;
        }

        void close() {
            channel.finishAndReleaseAll();
        }
    }
}
