package org.hermod.spool.internal;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Rebuilds the {@link QueueIndex} from the journal at start: decodes each record and applies it. A record type this
 * version does not know stops the replay (see {@link Journal#replay} for how that, and damage, are reported).
 */
final class JournalReplay {

    private final QueueIndex index;
    private int messages;
    private int states;
    private int others;

    JournalReplay(QueueIndex index) {
        this.index = index;
    }

    /** Replays every record of the journal into the index (not yet queued: see {@link QueueIndex#activateAll}). */
    void run(Journal journal) throws IOException {
        journal.replay(this::record);
    }

    int records() {
        return messages + states + others;
    }

    private void record(int seg, long offset, byte type, byte[] payload) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(payload));
        switch (type) {
            case RecordCodec.MSG, RecordCodec.MSG_V1, RecordCodec.MSG_ROUTED -> {
                RecordCodec.MessageHead h = RecordCodec.readMessageHead(in, type);
                int contentLen = in.readInt();
                MessageEntry m = index.newEntry(h.id(), h.envelope(), h.rcptStatus(), h.route(),
                        h.holdReason());
                m.segment = seg;
                m.contentLength = contentLen;
                m.contentOffset = offset + RecordCodec.HEADER + (payload.length - contentLen);
                Map<String, RecordCodec.SlotState> slots = new HashMap<>();
                for (RecordCodec.SlotState st : h.slots()) {
                    slots.put(st.domain(), st);
                }
                index.put(m, slots, false);
                messages++;
            }
            case RecordCodec.STATE, RecordCodec.STATE_V1 -> {
                String id = in.readUTF();
                RecordCodec.SlotState st = RecordCodec.readSlotState(in, type == RecordCodec.STATE_V1);
                int n = in.readInt();
                int[] idx = new int[n];
                byte[] status = new byte[n];
                for (int i = 0; i < n; i++) {
                    idx[i] = in.readInt();
                    status[i] = in.readByte();
                }
                index.applyState(id, st, idx, status);
                states++;
            }
            case RecordCodec.DELETE -> {
                index.remove(in.readUTF());
                others++;
            }
            case RecordCodec.HOLD -> {
                index.applyHold(in.readUTF(), RecordCodec.readNullable(in));
                others++;
            }
            // A type this version does not know was written by a newer Hermod. Skipping it would lose that mail (and
            // let compaction delete its segment), so the spool refuses to open: upgrade again, or restore the
            // journal from before the downgrade.
            default -> throw new IOException("it is a record of type " + type + " that this version of Hermod does"
                    + " not know (written by a newer version?): run that version again, or restore the journal from"
                    + " before the upgrade");
        }
    }
}
