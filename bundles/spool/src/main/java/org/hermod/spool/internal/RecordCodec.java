package org.hermod.spool.internal;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.routing.Route;

/**
 * The journal's record format. A record is {@code [magic:int][type:byte][length:int][payload][crc32c:int]}; the CRC covers
 * type, length and payload, so a torn or corrupted tail is detected on replay and cut off.
 */
final class RecordCodec {

    static final int MAGIC = 0x484D5231; // "HMR1"
    static final int HEADER = 4 + 1 + 4;
    static final int TRAILER = 4;

    /** A message: id, envelope, recipient states, per-domain states, then the content (0.1 layout, read only). */
    static final byte MSG_V1 = 1;
    /** A state change of one message: recipient outcomes and one domain's retry state (0.1 layout, read only). */
    static final byte STATE_V1 = 2;
    /** A message removed by an operator. */
    static final byte DELETE = 3;
    /** As {@link #MSG_V1}, each domain's state with the time of its last attempt. */
    static final byte MSG = 4;
    /** As {@link #STATE_V1}, the domain's state with the time of its last attempt. */
    static final byte STATE = 5;
    /**
     * As {@link #MSG}, followed (before the content length) by the message's route and hold reason. Written only for a
     * message with a route or a hold, so that a spool without either stays readable by 0.1 and the first 0.2 builds.
     */
    static final byte MSG_ROUTED = 6;
    /** A message held (with its reason) or released (no reason) by an operator. */
    static final byte HOLD = 7;
    /**
     * Written by the journal before the records of each batch (per segment, when a batch rolls over): the segment and
     * offset it was written at, and the byte length of the batch's records that follow it in that segment. Replay uses
     * it to tell the unacknowledged last batch, torn by a power cut, from damage to acknowledged records; it is not
     * passed to replay's visitor. A length of 0 at the end of a segment marks a clean close.
     */
    static final byte BATCH = 8;
    /** The payload length of a {@link #BATCH} record: segment (int), offset (long), length (long). */
    static final int BATCH_PAYLOAD = 4 + 8 + 8;
    /** The size of a whole {@link #BATCH} record. */
    static final int BATCH_RECORD = HEADER + BATCH_PAYLOAD + TRAILER;

    private RecordCodec() {
    }

    /** Frames a payload as a record. */
    static ByteBuffer frame(byte type, byte[] payload, int payloadLength) {
        ByteBuffer buf = ByteBuffer.allocate(HEADER + payloadLength + TRAILER);
        buf.putInt(MAGIC).put(type).putInt(payloadLength).put(payload, 0, payloadLength);
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 4, 1 + 4 + payloadLength);
        buf.putInt((int) crc.getValue());
        buf.flip();
        return buf;
    }

    /** A {@link #BATCH} record written at {@code offset} of {@code segment}, followed by {@code length} bytes of records. */
    static ByteBuffer batchRecord(int segment, long offset, long length) {
        byte[] p = ByteBuffer.allocate(BATCH_PAYLOAD).putInt(segment).putLong(offset).putLong(length).array();
        return frame(BATCH, p, BATCH_PAYLOAD);
    }

    /**
     * The length of records a {@link #BATCH} record's payload announces, or -1 when the payload is not one that
     * {@link #batchRecord} wrote at {@code offset} of {@code segment} (a segment edited or moved by hand).
     */
    static long batchLength(byte[] payload, int segment, long offset) {
        if (payload.length != BATCH_PAYLOAD) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        long length = b.getLong(12);
        return b.getInt(0) == segment && b.getLong(4) == offset && length >= 0 ? length : -1;
    }

    static int crc(byte[] record, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(record, offset, length);
        return (int) crc.getValue();
    }

    /** The record type a message is written as: {@link #MSG_ROUTED} only when it has a route or a hold. */
    static byte messageType(MessageEntry m) {
        return m.route.isDefault() && m.holdReason == null ? MSG : MSG_ROUTED;
    }

    /**
     * The part of a message record before its content: envelope, state, route and hold when the type asks for them,
     * and the content's length.
     */
    static byte[] messageRecordHead(MessageEntry m, byte type, int contentLength) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(256);
        DataOutputStream out = new DataOutputStream(bos);
        writeMessageHead(out, m);
        if (type == MSG_ROUTED) {
            writeRoute(out, m.route);
            writeNullable(out, m.holdReason);
        }
        out.writeInt(contentLength);
        return bos.toByteArray();
    }

    static void writeRoute(DataOutputStream out, Route r) throws IOException {
        writeNullable(out, r.pool());
        writeNullable(out, r.smarthost());
        writeNullable(out, r.tenant());
        writeNullable(out, r.campaign());
        out.writeInt(r.priority());
        out.writeInt(r.tags().size());
        for (java.util.Map.Entry<String, String> e : new java.util.TreeMap<>(r.tags()).entrySet()) {
            out.writeUTF(truncate(e.getKey()));
            out.writeUTF(truncate(e.getValue()));
        }
    }

    static Route readRoute(DataInputStream in) throws IOException {
        String pool = readNullable(in);
        String smarthost = readNullable(in);
        String tenant = readNullable(in);
        String campaign = readNullable(in);
        int priority = in.readInt();
        int n = in.readInt();
        java.util.Map<String, String> tags = new java.util.LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            tags.put(in.readUTF(), in.readUTF());
        }
        return new Route(pool, smarthost, tenant, campaign, priority, tags);
    }

    /** HOLD payload: id, then the reason (held) or nothing (released). */
    static byte[] holdRecord(String id, String reason) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream(64);
            DataOutputStream out = new DataOutputStream(bos);
            out.writeUTF(id);
            writeNullable(out, reason == null ? null : truncate(reason));
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the envelope and the mutable state of a message, but not its content. */
    static void writeMessageHead(DataOutputStream out, MessageEntry m) throws IOException {
        out.writeUTF(m.id);
        Envelope e = m.envelope;
        writeAddress(out, e.sender());
        out.writeByte(e.ret() == null ? 0 : e.ret().ordinal() + 1);
        writeNullable(out, e.envId());
        out.writeByte(e.body().ordinal());
        out.writeBoolean(e.smtpUtf8());
        out.writeUTF(e.heloName());
        out.writeUTF(e.clientAddress());
        out.writeLong(e.receivedAt().toEpochMilli());
        out.writeInt(e.recipients().size());
        for (int i = 0; i < e.recipients().size(); i++) {
            Recipient r = e.recipients().get(i);
            writeAddress(out, r.address());
            int bits = 0;
            for (Recipient.Notify n : r.notifyOn()) {
                bits |= 1 << n.ordinal();
            }
            out.writeByte(bits);
            writeNullable(out, r.orcpt());
            out.writeByte(m.rcptStatus[i]);
        }
        List<Slot> slots = m.slots();
        out.writeInt(slots.size());
        for (Slot s : slots) {
            writeSlotState(out, s.domain, s.attempts, s.nextAttempt, s.lastError, s.lastAttempt);
        }
    }

    static void writeSlotState(DataOutputStream out, String domain, int attempts, long nextAttempt, String lastError,
                               long lastAttempt) throws IOException {
        out.writeUTF(domain);
        out.writeInt(attempts);
        out.writeLong(nextAttempt);
        writeNullable(out, lastError == null ? null : truncate(lastError));
        out.writeLong(lastAttempt);
    }

    private static String truncate(String s) {
        return s.length() > 2000 ? s.substring(0, 2000) : s;
    }

    /**
     * Reads a message record up to its content length (which it leaves unread).
     *
     * @param type {@link #MSG_V1} (0.1 layout: no last-attempt times), {@link #MSG} or {@link #MSG_ROUTED}
     */
    static MessageHead readMessageHead(DataInputStream in, byte type) throws IOException {
        boolean v1 = type == MSG_V1;
        String id = in.readUTF();
        MailAddress sender = readAddress(in);
        int ret = in.readByte();
        String envId = readNullable(in);
        Envelope.BodyType body = Envelope.BodyType.values()[in.readByte()];
        boolean utf8 = in.readBoolean();
        String helo = in.readUTF();
        String client = in.readUTF();
        long received = in.readLong();
        int n = in.readInt();
        List<Recipient> rcpts = new ArrayList<>(n);
        byte[] status = new byte[n];
        for (int i = 0; i < n; i++) {
            MailAddress a = readAddress(in);
            int bits = in.readByte();
            Set<Recipient.Notify> notify = EnumSet.noneOf(Recipient.Notify.class);
            for (Recipient.Notify v : Recipient.Notify.values()) {
                if ((bits & (1 << v.ordinal())) != 0) {
                    notify.add(v);
                }
            }
            rcpts.add(new Recipient(a, notify, readNullable(in)));
            status[i] = in.readByte();
        }
        int slots = in.readInt();
        List<SlotState> states = new ArrayList<>(slots);
        for (int i = 0; i < slots; i++) {
            states.add(readSlotState(in, v1));
        }
        Envelope env = new Envelope(sender, rcpts, ret == 0 ? null : Envelope.Ret.values()[ret - 1], envId, body, utf8,
                helo, client, Instant.ofEpochMilli(received));
        Route route = Route.DEFAULT;
        String holdReason = null;
        if (type == MSG_ROUTED) {
            route = readRoute(in);
            holdReason = readNullable(in);
        }
        return new MessageHead(id, env, status, states, route, holdReason);
    }

    static SlotState readSlotState(DataInputStream in, boolean v1) throws IOException {
        return new SlotState(in.readUTF(), in.readInt(), in.readLong(), readNullable(in), v1 ? 0 : in.readLong());
    }

    /** STATE payload: id, slot state, then (recipient index, status) pairs. */
    static byte[] stateRecord(String id, String domain, int attempts, long nextAttempt, String lastError,
                              long lastAttempt, int[] rcptIdx, byte[] rcptStatus) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream(128);
            DataOutputStream out = new DataOutputStream(bos);
            out.writeUTF(id);
            writeSlotState(out, domain, attempts, nextAttempt, lastError, lastAttempt);
            out.writeInt(rcptIdx.length);
            for (int i = 0; i < rcptIdx.length; i++) {
                out.writeInt(rcptIdx[i]);
                out.writeByte(rcptStatus[i]);
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] deleteRecord(String id) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream(32);
            new DataOutputStream(bos).writeUTF(id);
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void writeAddress(DataOutputStream out, MailAddress a) throws IOException {
        out.writeUTF(a.localPart());
        out.writeUTF(a.domain());
    }

    private static MailAddress readAddress(DataInputStream in) throws IOException {
        String local = in.readUTF();
        String domain = in.readUTF();
        return local.isEmpty() && domain.isEmpty() ? MailAddress.NULL_SENDER : new MailAddress(local, domain);
    }

    /** Writes an optional text, cut to 2000 characters: writeUTF fails above 64 KB (a hold reason, a route field). */
    private static void writeNullable(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(truncate(s));
        }
    }

    static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }

    /** @param lastAttempt epoch millis when the last attempt ended, 0 when none (or not recorded: 0.1 layout) */
    record SlotState(String domain, int attempts, long nextAttempt, String lastError, long lastAttempt) {
    }

    record MessageHead(String id, Envelope envelope, byte[] rcptStatus, List<SlotState> slots, Route route,
                       String holdReason) {
    }
}
