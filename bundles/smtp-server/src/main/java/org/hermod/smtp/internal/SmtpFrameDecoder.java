package org.hermod.smtp.internal;

import java.nio.charset.StandardCharsets;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * Frames the SMTP byte stream: command lines in command mode, the dot-unstuffed message in data mode.
 *
 * <p>Only CRLF ends a line, and only CRLF "." CRLF ends the data: a bare LF or bare CR is never a line ending
 * (SMTP smuggling, CVE-2023-51766). In reject mode such input is flagged and answered with a 5xx by the session;
 * in normalize mode a bare LF or CR counts as CRLF inside lines, but never as part of the end-of-data sequence.
 *
 * <p>The session switches to data mode with {@link #startData} after it answered 354; the decoder returns to command
 * mode by itself after the end of data. While {@link #pause()}d it decodes nothing, so that pipelined input after a
 * message waits until the message is stored and answered.
 */
final class SmtpFrameDecoder extends ByteToMessageDecoder {

    static final int MAX_COMMAND_LINE = 1000;
    static final int MAX_TEXT_LINE = 998;
    /** Parts a message's buffer may have before Netty merges them (it grows by doubling: far more than enough). */
    private static final int MAX_PARTS = 1024;

    /** A command line without its CRLF. */
    record CommandLine(String line, boolean bareNewline, boolean tooLong) {
    }

    /**
     * The end of the message data. {@code content} is null when the message was refused (the reason is set).
     * {@code held} is the part of the shared memory budget the content still holds: whoever takes the content hands it
     * back with {@link #releaseHeld} once the message is stored or dropped.
     */
    record DataEnd(ByteBuf content, long size, Violation violation, long held) {
    }

    enum Violation { NONE, BARE_NEWLINE, LINE_TOO_LONG, TOO_BIG, NO_MEMORY }

    /** All octets of a BDAT chunk were read; {@code violation} so far in the message (NONE for a discarded chunk). */
    record ChunkEnd(Violation violation) {
    }

    private enum DataState { START, START_AFTER_BARE, DOT, DOT_CR, IN_LINE, CR }

    private final boolean normalize;
    private final DataBudget budget;
    private long reserved;
    private boolean dataMode;
    private boolean paused;
    private long maxSize;
    private ByteBuf content;
    private long size;
    private long lineLength;
    /** {@link #nextLf}'s last answer within the packet being decoded (-1: none yet). */
    private int lfAt;
    private Violation violation = Violation.NONE;
    private DataState state;
    private boolean discardingCommand;
    /** BDAT: octets of the current chunk still to read (-1: not in a chunk), and whether they are kept. */
    private long chunkRemaining = -1;
    private boolean chunkKept;

    SmtpFrameDecoder(boolean normalize, DataBudget budget) {
        this.normalize = normalize;
        this.budget = budget;
    }

    /**
     * BDAT (RFC 3030): the next {@code octets} bytes are message data, taken literally (no dot-stuffing, no end-of-data
     * sequence). {@code first} starts a new message. A chunk that is not {@code kept} (no transaction, or the message was
     * already refused) is read and dropped: its bytes must never be taken as commands. Line rules (bare CR/LF, 998
     * octets) and the size and memory limits are the same as for DATA. Returns the chunk's end at once when it is empty,
     * otherwise null and a {@link ChunkEnd} is decoded once all its octets are read.
     */
    ChunkEnd startChunk(ChannelHandlerContext ctx, long octets, boolean kept, boolean first, long maxMessageSize,
                        int initialCapacity) {
        if (kept && first) {
            startMessage(ctx, maxMessageSize, initialCapacity);
        }
        chunkKept = kept;
        if (octets == 0) {
            return new ChunkEnd(kept ? violation : Violation.NONE); // nothing to read: complete now
        }
        chunkRemaining = octets;
        return null;
    }

    /** Ends a chunked message after its LAST chunk: the same outcome DATA's end gives. */
    DataEnd endChunks() {
        if (state == DataState.CR) { // the message ends in a CR that no LF followed
            bareCr();
        }
        List<Object> out = new java.util.ArrayList<>(1);
        finish(out);
        return (DataEnd) out.get(0);
    }

    /** Drops a message being received in chunks (refused part way). */
    void abortMessage() {
        if (content != null) {
            content.release();
            content = null;
        }
        releaseBudget();
    }

    /** Whether a BDAT chunk is being read. */
    boolean inChunk() {
        return chunkRemaining >= 0;
    }

    void startData(ChannelHandlerContext ctx, long maxMessageSize, int initialCapacity) {
        startMessage(ctx, maxMessageSize, initialCapacity);
        dataMode = true;
    }

    private void startMessage(ChannelHandlerContext ctx, long maxMessageSize, int initialCapacity) {
        abortMessage();
        maxSize = maxMessageSize;
        // a buffer that grows by adding parts, never by copying what it holds: the client's SIZE (when it gave one)
        // is only a hint, and a 100 KB message in a buffer that doubles from 4 KB was copied five times over
        CompositeByteBuf c = ctx.alloc().compositeBuffer(MAX_PARTS);
        ByteBuf first = ctx.alloc().buffer(Math.max(256, initialCapacity));
        // a part counts with its readable octets: the whole first buffer is room to write into (as Netty's own growth
        // parts are), else the message would start in a 64-octet part of its own beside an unused buffer
        c.addComponent(false, first.writerIndex(first.capacity()));
        content = c;
        size = 0;
        lineLength = 0;
        violation = Violation.NONE;
        state = DataState.START;
    }

    /** Whether message data is being read (DATA, or the octets of a BDAT chunk). */
    boolean inData() {
        return dataMode || chunkRemaining >= 0;
    }

    /** Octets of message data received so far in the current transfer. */
    long dataBytes() {
        return size;
    }

    void pause() {
        paused = true;
    }

    void resume() {
        paused = false;
    }

    /**
     * Input that arrives while paused is kept, and reading stops (autoRead off) until the session resumes: a client
     * that floods while a step is slow is held back by TCP, at most one read's worth is buffered. Reading is not
     * stopped when pausing, only when input actually arrives meanwhile, so a client that waits for its replies (or
     * sent its whole pipelined group at once) costs no autoRead switching per step.
     */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        super.channelRead(ctx, msg);
        // input kept while paused, whether it arrived during a step or behind the command that started the step in this
        // read (pipelined commands, QUIT): stop reading now, so that a FIN the client sends after it is not read (the
        // channel would close, and the step's reply, a 250 for a stored message among them, would never reach the
        // client) before the replies are out
        if (paused && internalBuffer().isReadable() && ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (paused) {
            // ByteToMessageDecoder asks for another read when a read decoded nothing and autoRead is off: while paused
            // that would keep reading (and buffering) whatever the client sends, without bound
            discardSomeReadBytes();
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (paused) {
            return;
        }
        if (chunkRemaining >= 0) {
            decodeChunk(in, out);
        } else if (dataMode) {
            decodeData(in, out);
        } else {
            decodeCommand(in, out);
        }
    }

    private void decodeCommand(ByteBuf in, List<Object> out) {
        if (normalize) {
            decodeCommandNormalized(in, out);
            return;
        }
        // reject mode: only CRLF ends a line; a bare CR or LF is part of the (then refused) line, so that one bad line
        // gets exactly one reply and the next well-formed command works
        int start = in.readerIndex();
        int end = in.writerIndex();
        int from = start;
        while (true) {
            int lf = in.indexOf(from, end, (byte) '\n');
            if (lf < 0) {
                partial(in, out, start, end);
                return;
            }
            if (lf > start && in.getByte(lf - 1) == '\r') {
                int lineEnd = lf - 1;
                boolean bare = in.indexOf(start, lineEnd, (byte) '\r') >= 0 || in.indexOf(start, lineEnd, (byte) '\n') >= 0;
                line(in, out, start, lineEnd, lf + 1, bare);
                return;
            }
            if (lf - start > MAX_COMMAND_LINE) {
                partial(in, out, start, end);
                return;
            }
            from = lf + 1;
        }
    }

    /** No CRLF yet: past the limit, answer at once and discard the rest of the line as it arrives. */
    private void partial(ByteBuf in, List<Object> out, int start, int end) {
        if (end - start > MAX_COMMAND_LINE) {
            if (!discardingCommand) {
                out.add(new CommandLine("", false, true));
                discardingCommand = true;
            }
            in.skipBytes(end - start - 1); // keep a trailing CR, it may pair with the next packet's LF
        }
    }

    private void line(ByteBuf in, List<Object> out, int start, int lineEnd, int next, boolean bare) {
        boolean answered = discardingCommand;
        boolean tooLong = discardingCommand || lineEnd - start > MAX_COMMAND_LINE - 2;
        discardingCommand = false;
        String line = tooLong ? "" : in.toString(start, lineEnd - start, StandardCharsets.UTF_8);
        in.readerIndex(next);
        if (!answered) {
            out.add(new CommandLine(line, bare, tooLong));
        }
    }

    /** Normalize mode: a bare CR or LF ends a command line like CRLF does. */
    private void decodeCommandNormalized(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        int lf = in.indexOf(start, end, (byte) '\n');
        int cr = in.indexOf(start, Math.min(end, lf < 0 ? end : lf), (byte) '\r');
        // a CR that is not immediately followed by LF, before the first LF: bare CR
        boolean bareCr = cr >= 0 && cr + 1 < end && in.getByte(cr + 1) != '\n';
        if (lf < 0 && !bareCr) {
            partial(in, out, start, end);
            return;
        }
        int lineEnd;
        int next;
        if (bareCr && (lf < 0 || cr < lf)) {
            lineEnd = cr;
            next = cr + 1;
        } else {
            boolean bare = lf == start || in.getByte(lf - 1) != '\r';
            lineEnd = bare ? lf : lf - 1;
            next = lf + 1;
        }
        line(in, out, start, lineEnd, next, false);
    }

    /** Octets received and not yet decoded (what a session holds besides a message being received). */
    int buffered() {
        return internalBuffer().readableBytes();
    }

    /** Whether part of a command line has been received but not its end. */
    boolean hasPartialLine() {
        return !dataMode && chunkRemaining < 0 && internalBuffer().isReadable();
    }

    /**
     * Drops everything received but not yet decoded. Used after STARTTLS: whatever the client pipelined in plain text
     * after the command must never be executed (CVE-2011-0411).
     */
    int discardBuffered() {
        ByteBuf b = internalBuffer();
        int n = b.readableBytes();
        b.skipBytes(n);
        discardingCommand = false;
        return n;
    }

    private void decodeChunk(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(in.readableBytes(), chunkRemaining);
        if (chunkKept) {
            int i = in.readerIndex();
            int end = i + n;
            lfAt = -1;
            while (i < end) {
                if (state == DataState.CR) {
                    byte b = in.getByte(i++);
                    if (b == '\n') {
                        emit((byte) '\r');
                        emit((byte) '\n');
                        lineLength = 0;
                        state = DataState.START;
                    } else {
                        bareCr();
                        state = DataState.IN_LINE;
                        inLine(b);
                    }
                } else {
                    i = text(in, i, end, false); // a dot at the start of a line is just a dot here
                }
            }
        }
        in.skipBytes(n);
        chunkRemaining -= n;
        if (chunkRemaining == 0) {
            chunkRemaining = -1;
            out.add(new ChunkEnd(chunkKept ? violation : Violation.NONE));
        }
    }

    /**
     * DATA: the line text goes through {@link #text} in bulk; only what happens at the start of a line (a dot, the end
     * of data) and a CR whose LF is in the next packet are handled one octet at a time.
     */
    private void decodeData(ByteBuf in, List<Object> out) {
        int i = in.readerIndex();
        int end = in.writerIndex();
        lfAt = -1;
        while (i < end) {
            switch (state) {
                case IN_LINE -> i = text(in, i, end, true);
                case START, START_AFTER_BARE -> {
                    if (in.getByte(i) == '.') {
                        i++;
                        state = state == DataState.START ? DataState.DOT : DataState.IN_LINE; // a stuffed dot is dropped
                    } else {
                        state = DataState.IN_LINE;
                    }
                }
                case DOT -> {
                    if (in.getByte(i) == '\r') {
                        i++;
                        state = DataState.DOT_CR;
                    } else {
                        state = DataState.IN_LINE;
                    }
                }
                case DOT_CR -> {
                    byte b = in.getByte(i++);
                    if (b == '\n') {
                        in.readerIndex(i);
                        finish(out);
                        return;
                    }
                    // "." CR then something else: the CR is bare
                    state = DataState.IN_LINE;
                    bareCr();
                    reprocess(b);
                }
                case CR -> {
                    byte b = in.getByte(i++);
                    if (b == '\n') {
                        emit((byte) '\r');
                        emit((byte) '\n');
                        lineLength = 0;
                        state = DataState.START;
                    } else {
                        bareCr();
                        reprocess(b);
                    }
                }
                default -> throw new IllegalStateException();
            }
        }
        in.readerIndex(i);
    }

    /**
     * Takes line text from {@code i} on, the same octets {@link #inLine} would take one at a time: whole lines ended by
     * CRLF are copied in one run as long as the next line does not start with a dot ({@code dots}: DATA; BDAT has no
     * dot-stuffing). Stops after a CRLF before a dot (state START), at {@code end}, or after a CR or bare LF, which
     * {@link #inLine} handles. Returns the index of the first octet not taken.
     */
    private int text(ByteBuf in, int i, int end, boolean dots) {
        int run = i; // the first octet not yet emitted
        while (true) {
            int lf = nextLf(in, i, end);
            int cr = in.indexOf(i, lf, (byte) '\r');
            int stop = cr >= 0 ? cr : lf;
            long room = MAX_TEXT_LINE - lineLength;
            if (room >= 0 && stop - i > room) { // the line grows past the limit at octet i + room
                int over = i + (int) room + 1;
                emitRun(in, run, over - run);
                flag(Violation.LINE_TOO_LONG);
                run = over;
            }
            lineLength += stop - i;
            if (stop > i) {
                state = DataState.IN_LINE;
            }
            if (cr >= 0 && cr + 1 == lf && lf < end) { // CRLF
                i = lf + 1;
                lineLength = 0;
                if (i < end && !(dots && in.getByte(i) == '.')) {
                    state = DataState.IN_LINE;
                    continue;
                }
                state = DataState.START;
                emitRun(in, run, i - run);
                return i;
            }
            emitRun(in, run, stop - run);
            if (stop == end) {
                return end;
            }
            inLine(in.getByte(stop)); // a bare LF, or a CR not followed by LF (yet)
            return stop + 1;
        }
    }

    /** The index of the next LF at or after {@code i} before {@code end}, else {@code end}; searched once per packet. */
    private int nextLf(ByteBuf in, int i, int end) {
        if (lfAt < i) {
            int f = in.indexOf(i, end, (byte) '\n');
            lfAt = f < 0 ? end : f;
        }
        return lfAt;
    }

    private void reprocess(byte b) {
        if (state == DataState.START_AFTER_BARE && b == '.') {
            state = DataState.IN_LINE;
            return;
        }
        if (state == DataState.START_AFTER_BARE) {
            state = DataState.IN_LINE;
        }
        inLine(b);
    }

    private void inLine(byte b) {
        if (b == '\r') {
            state = DataState.CR;
        } else if (b == '\n') {
            if (normalize) {
                emit((byte) '\r');
                emit((byte) '\n');
                lineLength = 0;
                state = DataState.START_AFTER_BARE;
            } else {
                flag(Violation.BARE_NEWLINE);
                emit(b);
                state = DataState.IN_LINE;
            }
        } else {
            emit(b);
            if (++lineLength > MAX_TEXT_LINE) {
                flag(Violation.LINE_TOO_LONG);
            }
            state = DataState.IN_LINE;
        }
    }

    /** A CR not followed by LF. */
    private void bareCr() {
        if (normalize) {
            emit((byte) '\r');
            emit((byte) '\n');
            lineLength = 0;
            state = DataState.START_AFTER_BARE;
        } else {
            flag(Violation.BARE_NEWLINE);
            emit((byte) '\r');
            state = DataState.IN_LINE;
        }
    }

    private void flag(Violation v) {
        if (violation == Violation.NONE) {
            violation = v;
        }
    }

    private void emit(byte b) {
        size++;
        if (size > maxSize) {
            flag(Violation.TOO_BIG);
            return;
        }
        if (violation == Violation.NONE) {
            content.writeByte(b);
            if (content.writerIndex() > reserved) {
                if (budget.tryReserve(DataBudget.CHUNK)) {
                    reserved += DataBudget.CHUNK;
                } else {
                    flag(Violation.NO_MEMORY);
                }
            }
        }
    }

    /**
     * {@link #emit}s {@code n} octets of {@code in} from {@code from} as one copy, with the same outcome: the size counts
     * them all; what fits under the size limit is kept while no violation is set, reserving the memory budget chunk by
     * chunk, and an exhausted budget keeps exactly the octet that crossed the last reservation, as one at a time would.
     */
    private void emitRun(ByteBuf in, int from, int n) {
        if (n == 0) {
            return;
        }
        if (violation == Violation.NONE) {
            long keep = Math.min(n, Math.max(0, maxSize - size));
            boolean noMemory = false;
            while (content.writerIndex() + keep > reserved) {
                if (budget.tryReserve(DataBudget.CHUNK)) {
                    reserved += DataBudget.CHUNK;
                } else {
                    keep = reserved - content.writerIndex() + 1;
                    noMemory = true;
                    break;
                }
            }
            content.writeBytes(in, from, (int) keep);
            if (noMemory) {
                flag(Violation.NO_MEMORY);
            }
        }
        size += n;
        if (size > maxSize) {
            flag(Violation.TOO_BIG);
        }
    }

    private void releaseBudget() {
        budget.release(reserved);
        reserved = 0;
    }

    private void finish(List<Object> out) {
        dataMode = false;
        ByteBuf c = content;
        content = null;
        if (violation != Violation.NONE) {
            releaseBudget();
            c.release();
            out.add(new DataEnd(null, size, violation, 0));
        } else {
            out.add(new DataEnd(c, size, Violation.NONE, reserved)); // the bytes stay in memory until stored
            reserved = 0;
        }
    }

    /** Returns the budget a {@link DataEnd}'s content held. Any thread. */
    void releaseHeld(long held) {
        budget.release(held);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (content != null) {
            content.release();
            content = null;
        }
        releaseBudget();
    }
}
