package org.hermod.routing.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The names of the filters an operator took out of the chain, kept in a file (one name a line) across restarts. */
final class DisabledFilters {

    private static final Logger LOG = LoggerFactory.getLogger(DisabledFilters.class);

    private final Path file;
    private volatile Set<String> names;

    DisabledFilters(Path file) {
        this.file = file;
        Set<String> n = new TreeSet<>();
        try {
            if (Files.exists(file)) {
                Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip)
                        .filter(s -> !s.isEmpty() && !s.startsWith("#")).forEach(n::add);
            }
        } catch (IOException e) {
            LOG.warn("cannot read disabled filters from {}: {}", file, e.toString());
        }
        this.names = Set.copyOf(n);
    }

    boolean contains(String name) {
        return names.contains(name);
    }

    /** Adds or removes a name; false when nothing changed. */
    synchronized boolean set(String name, boolean disabled) {
        Set<String> n = new TreeSet<>(names);
        boolean changed = disabled ? n.add(name) : n.remove(name);
        if (changed) {
            try {
                Files.createDirectories(file.getParent());
                Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
                Files.write(tmp, n, StandardCharsets.UTF_8);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new IllegalStateException("cannot save disabled filters to " + file + ": " + e, e);
            }
            names = Set.copyOf(n);
        }
        return changed;
    }
}
