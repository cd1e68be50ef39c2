package org.hermod.delivery.internal.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS policy map file, reloaded by {@link #poll()} when its modification time or size changes. A missing file is
 * an empty map; a file with an error keeps the previous map in force (logged once per change). Thread-safe.
 */
public final class TlsPolicyFile {

    private static final Logger LOG = LoggerFactory.getLogger(TlsPolicyFile.class);

    private final Path file;
    private volatile TlsPolicyMap current = TlsPolicyMap.EMPTY;
    private FileTime seenTime;
    private long seenSize = -1;

    public TlsPolicyFile(Path file) {
        this.file = file;
        poll();
    }

    public Path file() {
        return file;
    }

    public TlsPolicyMap current() {
        return current;
    }

    /** Reloads the file when it changed. */
    public synchronized void poll() {
        FileTime t;
        long size;
        try {
            t = Files.getLastModifiedTime(file);
            size = Files.size(file);
        } catch (IOException e) {
            if (seenSize != -2) {
                if (seenSize >= 0) {
                    LOG.info("TLS policy map {} is gone; no per-destination TLS policies", file);
                }
                current = TlsPolicyMap.EMPTY;
                seenSize = -2;
                seenTime = null;
            }
            return;
        }
        if (t.equals(seenTime) && size == seenSize) {
            return;
        }
        seenTime = t;
        seenSize = size;
        try {
            TlsPolicyMap m = TlsPolicyMap.parse(Files.readString(file, StandardCharsets.UTF_8));
            current = m;
            LOG.info("TLS policy map {} loaded: {} entries", file, m.size());
        } catch (IOException | IllegalArgumentException e) {
            LOG.error("TLS policy map {} not loaded, the previous one stays in force: {}", file, e.getMessage());
        }
    }
}
