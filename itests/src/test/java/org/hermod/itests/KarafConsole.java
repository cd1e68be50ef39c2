package org.hermod.itests;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;

/** Runs Karaf console commands inside the container and returns what they printed. */
final class KarafConsole {

    private KarafConsole() {
    }

    /** Retries while the command is not yet registered (commands register asynchronously after boot). */
    static String run(SessionFactory sessions, String command) throws Exception {
        for (int i = 0; i < 50; i++) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            PrintStream ps = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            try {
                Session s = sessions.create(System.in, ps, ps);
                s.execute(command);
                ps.flush();
                return bytes.toString(StandardCharsets.UTF_8);
            } catch (Exception e) {
                if (!String.valueOf(e.getMessage()).contains("not found")) {
                    throw e;
                }
                Thread.sleep(200); // polling interval: shell commands register asynchronously (bounded loop)
            }
        }
        throw new AssertionError("command never became available: " + command);
    }
}
