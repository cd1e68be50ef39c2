package org.hermod.itests;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A size-limited tmpfs the test mounts itself (the tests run as root here and in CI), so that a directory can really
 * fill up. If mounting fails the test fails, saying why; it never skips.
 */
final class TmpfsMount implements Closeable {

    private final Path dir;

    private TmpfsMount(Path dir) {
        this.dir = dir;
    }

    /** Mounts a tmpfs of {@code megabytes} on a fresh directory {@code dir}. */
    static TmpfsMount mount(Path dir, int megabytes) throws Exception {
        Path abs = dir.toAbsolutePath();
        if (Files.exists(abs)) {
            run(List.of("umount", "-l", abs.toString())); // left over from an aborted run (fails harmlessly if not)
        }
        Files.createDirectories(abs);
        String out = run(List.of("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m", "tmpfs", abs.toString()));
        if (out != null) {
            throw new AssertionError("cannot mount a " + megabytes + " MiB tmpfs on " + abs + " (" + out.strip()
                    + "): the disk-full test needs root (CAP_SYS_ADMIN) to mount a size-limited file system");
        }
        return new TmpfsMount(abs);
    }

    Path dir() {
        return dir;
    }

    long usableSpace() throws IOException {
        return Files.getFileStore(dir).getUsableSpace();
    }

    /**
     * Fills the file system with {@code filler} until at most {@code leaveBytes} are free (0: until a write fails for
     * lack of space).
     */
    void fill(Path filler, long leaveBytes) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        try (var out = Files.newOutputStream(filler)) {
            while (true) {
                long free = usableSpace();
                if (leaveBytes > 0 && free <= leaveBytes) {
                    break;
                }
                int n = leaveBytes > 0 ? (int) Math.min(chunk.length, free - leaveBytes) : chunk.length;
                out.write(chunk, 0, Math.max(1, n));
                out.flush();
            }
        } catch (IOException full) {
            if (leaveBytes > 0 || !String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
    }

    /** Runs a command; null when it succeeded, else its output and exit code. */
    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out: " + command;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.exitValue() == 0 ? null : out + " (exit " + p.exitValue() + ")";
    }

    @Override
    public void close() throws IOException {
        try {
            String out = run(List.of("umount", dir.toString()));
            if (out != null) {
                run(List.of("umount", "-l", dir.toString())); // something still holds a file: detach it anyway
            }
        } catch (Exception e) {
            throw new IOException("cannot unmount " + dir, e);
        }
    }
}
