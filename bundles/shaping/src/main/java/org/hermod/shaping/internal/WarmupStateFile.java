package org.hermod.shaping.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The warmup state on disk ({@code ${karaf.data}/hermod/shaping/warmup.state}): one tab-separated line per (source,
 * provider), written whole to a temporary file, forced to disk and moved over the old one, so a crash leaves either
 * the old or the new state, never half of one. A plain file rather than Derby: a few hundred short lines at most, no
 * query, readable by an operator with {@code cat}, and the shaping bundle needs no database.
 */
final class WarmupStateFile {

    private static final String HEADER = "# hermod warmup state v1: source target day date sentToday deliveredToday"
            + " hour sentThisHour lastNegative negativeWhy held capEventSent";

    private final Path file;

    WarmupStateFile(Path file) {
        this.file = file;
    }

    Path file() {
        return file;
    }

    Map<Warmup.Key, Warmup.Entry> load() throws IOException {
        Map<Warmup.Key, Warmup.Entry> out = new HashMap<>();
        if (!Files.exists(file)) {
            return out;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f.length < 12) {
                throw new IOException(file + ": bad line '" + line + "'");
            }
            Warmup.Entry e = new Warmup.Entry();
            e.day = Integer.parseInt(f[2]);
            e.date = f[3].isEmpty() ? null : LocalDate.parse(f[3]);
            e.sentToday = Long.parseLong(f[4]);
            e.deliveredToday = Long.parseLong(f[5]);
            e.hour = Long.parseLong(f[6]);
            e.sentThisHour = Long.parseLong(f[7]);
            e.lastNegative = f[8].isEmpty() ? null : Instant.parse(f[8]);
            e.negativeWhy = f[9].isEmpty() ? null : f[9];
            e.held = f[10].isEmpty() ? null : f[10];
            e.capEventSent = Boolean.parseBoolean(f[11]);
            out.put(new Warmup.Key(f[0], f[1]), e);
        }
        return out;
    }

    void save(Map<Warmup.Key, Warmup.Entry> entries) throws IOException {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        entries.entrySet().stream().sorted(Map.Entry.comparingByKey(
                java.util.Comparator.comparing(Warmup.Key::source).thenComparing(Warmup.Key::target)))
                .forEach(me -> {
                    Warmup.Entry e = me.getValue();
                    List<String> f = List.of(me.getKey().source(), me.getKey().target(), Integer.toString(e.day),
                            e.date == null ? "" : e.date.toString(), Long.toString(e.sentToday),
                            Long.toString(e.deliveredToday), Long.toString(e.hour), Long.toString(e.sentThisHour),
                            e.lastNegative == null ? "" : e.lastNegative.toString(), clean(e.negativeWhy),
                            clean(e.held), Boolean.toString(e.capEventSent));
                    b.append(String.join("\t", f)).append('\n');
                });
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String clean(String s) {
        return s == null ? "" : s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
}
