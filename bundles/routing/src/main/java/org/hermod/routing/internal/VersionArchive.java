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
 * listing the versions in the order they were first seen: what a rollback goes back along.
 * Thread-safe (one lock; archiving happens off the hot path).
 */
final class VersionArchive {

    private final Path dir;

    VersionArchive(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    /** Archives the bundle's current version unless it is kept already; true when it was new. */
    synchronized boolean archive(Bundle b) throws IOException {
        String bsn = b.getSymbolicName();
        String version = b.getVersion().toString();
        Path folder = folder(bsn);
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
            Path tmp = folder.resolve("history.tmp");
            Files.write(tmp, history, StandardCharsets.UTF_8);
            Files.move(tmp, folder.resolve("history"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        }
        return true;
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

    /** The version kept just before {@code current} (the last kept one when current is unknown), and its jar. */
    synchronized Optional<Kept> previous(String bsn, String current) {
        List<String> v = versions(bsn);
        int i = v.indexOf(current);
        int prev = i < 0 ? v.size() - 1 : i - 1;
        if (prev < 0) {
            return Optional.empty();
        }
        String version = v.get(prev);
        return Optional.of(new Kept(version, folder(bsn).resolve(version + ".jar")));
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
