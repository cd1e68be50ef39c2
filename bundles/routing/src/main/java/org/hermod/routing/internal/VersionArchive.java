package org.hermod.routing.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.osgi.framework.Bundle;

/**
 * Every version of every filter bundle seen, kept as a jar under {@code <dir>/<symbolic name>/<version>.jar} (built from
 * the bundle's own entries and manifest, independent of the framework's cache layout), with a {@code history} file
 * listing the versions in the order they were first seen, and an {@code active} file: the versions in the order they
 * became active (a version again after another is listed again), what a rollback goes back along, so that it
 * returns to the version that ran before, not to the one first seen before. A rollback takes the version it leaves
 * (and what came after) off that list, so a second rollback goes further back. Thread-safe (one lock; archiving happens off the hot path).
 */
final class VersionArchive {

    private final Path dir;

    VersionArchive(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    /**
     * Archives the bundle's current version unless it is kept already, and notes it as the active version; true when
     * it was new.
     */
    synchronized boolean archive(Bundle b) throws IOException {
        String bsn = b.getSymbolicName();
        String version = b.getVersion().toString();
        Path folder = folder(bsn);
        Files.createDirectories(folder);
        List<String> active = lines(folder.resolve("active"));
        if (active.isEmpty() || !active.get(active.size() - 1).equals(version)) {
            active.add(version);
            write(folder, "active", active);
        }
        Path jar = folder.resolve(version + ".jar");
        List<String> history = versions(bsn);
        if (Files.exists(jar) && history.contains(version)) {
            return false;
        }
        Files.createDirectories(folder);
        if (!Files.exists(jar)) {
            Path tmp = folder.resolve(version + ".jar.tmp");
            writeJar(b, tmp);
            Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        if (!history.contains(version)) {
            history.add(version);
            write(folder, "history", history);
        }
        return true;
    }

    private static void write(Path folder, String name, List<String> lines) throws IOException {
        Path tmp = folder.resolve(name + ".tmp");
        Files.write(tmp, lines, StandardCharsets.UTF_8);
        Files.move(tmp, folder.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<String> lines(Path f) throws IOException {
        List<String> out = new ArrayList<>();
        if (Files.exists(f)) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(line.strip());
                }
            }
        }
        return out;
    }

    /** The versions kept for a bundle, oldest first. */
    synchronized List<String> versions(String bsn) {
        Path h = folder(bsn).resolve("history");
        try {
            List<String> out = new ArrayList<>();
            if (Files.exists(h)) {
                for (String line : Files.readAllLines(h, StandardCharsets.UTF_8)) {
                    if (!line.isBlank() && Files.exists(folder(bsn).resolve(line.strip() + ".jar"))) {
                        out.add(line.strip());
                    }
                }
            }
            return out;
        } catch (IOException e) {
            return new ArrayList<>();
        }
    }

    /**
     * The version that was active before {@code current} and is still kept, and its jar; without such a one (no
     * activation noted), the version first seen just before {@code current} (the last kept one when current is
     * unknown).
     */
    synchronized Optional<Kept> previous(String bsn, String current) {
        try {
            List<String> active = lines(folder(bsn).resolve("active"));
            for (int i = active.size() - 1; i >= 0; i--) {
                String v = active.get(i);
                if (!v.equals(current) && Files.exists(folder(bsn).resolve(v + ".jar"))) {
                    return Optional.of(new Kept(v, folder(bsn).resolve(v + ".jar")));
                }
            }
        } catch (IOException e) {
            // the first-seen order below
        }
        List<String> v = versions(bsn);
        int i = v.indexOf(current);
        int prev = i < 0 ? v.size() - 1 : i - 1;
        if (prev < 0) {
            return Optional.empty();
        }
        String version = v.get(prev);
        return Optional.of(new Kept(version, folder(bsn).resolve(version + ".jar")));
    }

    /**
     * A rollback from {@code from} to {@code to} happened: the activations after the last one of {@code to} before
     * {@code from} are taken off the list (including a re-activation of {@code to} noted meanwhile), and so is
     * {@code from} itself, so the next rollback goes further back and never returns to the version rolled back from.
     */
    synchronized void rolledBack(String bsn, String from, String to) throws IOException {
        Path folder = folder(bsn);
        List<String> active = lines(folder.resolve("active"));
        int f = active.lastIndexOf(from);
        int t = f < 0 ? -1 : active.subList(0, f).lastIndexOf(to);
        List<String> kept = new ArrayList<>();
        for (String v : t < 0 ? active : active.subList(0, t + 1)) {
            if (!v.equals(from) && (kept.isEmpty() || !kept.get(kept.size() - 1).equals(v))) {
                kept.add(v);
            }
        }
        if (kept.isEmpty() || !kept.get(kept.size() - 1).equals(to)) {
            kept.add(to);
        }
        if (!kept.equals(active)) {
            Files.createDirectories(folder);
            write(folder, "active", kept);
        }
    }

    /** An archived version. */
    record Kept(String version, Path jar) {
    }

    private Path folder(String bsn) {
        String safe = bsn.replaceAll("[^A-Za-z0-9._-]", "_");
        return dir.resolve(safe);
    }

    private static void writeJar(Bundle b, Path target) throws IOException {
        URL mf = b.getEntry("META-INF/MANIFEST.MF");
        if (mf == null) {
            throw new IOException("bundle " + b.getSymbolicName() + " has no manifest entry");
        }
        Manifest manifest;
        try (InputStream in = mf.openStream()) {
            manifest = new Manifest(in);
        }
        try (OutputStream file = Files.newOutputStream(target);
             JarOutputStream jar = new JarOutputStream(file, manifest)) {
            Enumeration<URL> entries = b.findEntries("/", "*", true);
            while (entries != null && entries.hasMoreElements()) {
                URL u = entries.nextElement();
                String name = u.getPath().startsWith("/") ? u.getPath().substring(1) : u.getPath();
                if (name.isEmpty() || name.endsWith("/") || name.equalsIgnoreCase("META-INF/MANIFEST.MF")) {
                    continue;
                }
                jar.putNextEntry(new JarEntry(name));
                try (InputStream in = u.openStream()) {
                    in.transferTo(jar);
                }
                jar.closeEntry();
            }
        }
    }
}
