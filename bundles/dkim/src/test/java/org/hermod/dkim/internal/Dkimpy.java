package org.hermod.dkim.internal;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The independent verifier: dkimpy (Debian python3-dkim, python3-nacl for Ed25519) run on a message file, with the
 * key records served from the arguments. Missing packages fail the test naming them.
 */
final class Dkimpy {

    static final String PYTHON = "/usr/bin/python3"; // Debian's, where python3-dkim installs

    private Dkimpy() {
    }

    /** One output line per signature: "sig N: pass|fail a=.. d=.. s=.." */
    static List<String> verify(byte[] message, Map<String, String> records) throws Exception {
        requireInstalled();
        Path dir = Files.createTempDirectory("dkimpy");
        try {
            Path script = dir.resolve("dkim_verify.py");
            try (InputStream in = Dkimpy.class.getResourceAsStream("/dkim_verify.py")) {
                Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
            }
            Path msg = dir.resolve("message.eml");
            Files.write(msg, message);
            List<String> cmd = new ArrayList<>(List.of(PYTHON, script.toString(), msg.toString()));
            records.forEach((name, value) -> cmd.add(name + "=" + value));
            String out = run(cmd);
            List<String> lines = new ArrayList<>();
            for (String l : out.split("\n")) {
                if (l.startsWith("sig ") || l.startsWith("no signature")) {
                    lines.add(l.strip());
                }
            }
            assertTrue("dkimpy printed no result: " + out, !lines.isEmpty());
            return lines;
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void requireInstalled() throws Exception {
        if (!new File(PYTHON).canExecute()) {
            throw new AssertionError("/usr/bin/python3 is not installed: install the Debian package 'python3'");
        }
        String out = run(List.of(PYTHON, "-c", "import dkim, nacl; print('ok')"));
        if (!out.strip().endsWith("ok")) {
            throw new AssertionError("dkimpy is not installed: install the Debian packages 'python3-dkim' and "
                    + "'python3-nacl' (" + out.strip() + ")");
        }
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
