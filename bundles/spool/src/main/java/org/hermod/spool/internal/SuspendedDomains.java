package org.hermod.spool.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The suspended domains on disk: {@code suspended.txt} in the spool directory, one domain a line, replaced atomically. */
final class SuspendedDomains {

    private static final Logger LOG = LoggerFactory.getLogger(SuspendedDomains.class);

    private final Path file;

    SuspendedDomains(Path dir) {
        this.file = dir.resolve("suspended.txt");
    }

    List<String> load() throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        return Files.readAllLines(file).stream().map(String::trim).filter(d -> !d.isBlank()).toList();
    }

    /**
     * Saves the index's current suspensions. The snapshot is taken inside this object's lock, so concurrent saves
     * never leave an older list on disk than the last one taken.
     */
    synchronized void save(QueueIndex index) {
        try {
            Path tmp = file.resolveSibling("suspended.txt.tmp");
            Files.write(tmp, index.suspended());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("Could not save the suspended domains", e);
        }
    }
}
