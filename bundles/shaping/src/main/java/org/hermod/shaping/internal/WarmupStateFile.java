package org.hermod.shaping.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.Map;

/**
 * The warmup state file of 0.2.0 snapshots before the state moved to Derby ({@code ${karaf.data}/hermod/shaping/
 * warmup.state}: one tab-separated line per (source, provider)): read once, to import it into the {@link WarmupStore}.
 */
final class WarmupStateFile {

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

}
