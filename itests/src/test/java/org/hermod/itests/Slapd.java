package org.hermod.itests;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real LDAP server (OpenLDAP's slapd from Debian) on a loopback port: its own configuration file and MDB database in
 * a temporary directory, loaded from an LDIF with slapadd, so nothing of the machine's slapd setup (debconf,
 * /etc/ldap/slapd.d) is used. A missing slapd fails naming the Debian packages {@code slapd} and {@code ldap-utils}.
 */
public final class Slapd implements Closeable {

    public static final String SUFFIX = "dc=corp,dc=test";
    public static final String ADMIN = "cn=admin," + SUFFIX;
    public static final String PASSWORD = "secret";
    private static final String SLAPD = "/usr/sbin/slapd";
    private static final String SLAPADD = "/usr/sbin/slapadd";

    private final Path dir;
    private final int port;
    private ChildProcess process;

    /** Writes the configuration and loads {@code ldif} (entries below {@link #SUFFIX}); call {@link #start()}. */
    public Slapd(int port, String ldif) throws IOException, InterruptedException {
        for (String exe : List.of(SLAPD, SLAPADD)) {
            if (!new File(exe).canExecute()) {
                throw new AssertionError(exe + " is not installed: install the Debian packages 'slapd' and 'ldap-utils'"
                        + " (./test.sh installs everything the tests need)");
            }
        }
        this.port = port;
        dir = Files.createTempDirectory("hermod-slapd");
        Files.createDirectories(dir.resolve("db"));
        Files.writeString(dir.resolve("slapd.conf"), String.join("\n",
                "include /etc/ldap/schema/core.schema",
                "include /etc/ldap/schema/cosine.schema",
                "include /etc/ldap/schema/inetorgperson.schema",
                "pidfile " + dir.resolve("slapd.pid"),
                "argsfile " + dir.resolve("slapd.args"),
                "modulepath /usr/lib/ldap",
                "moduleload back_mdb",
                "database mdb",
                "maxsize 10485760",
                "suffix \"" + SUFFIX + "\"",
                "rootdn \"" + ADMIN + "\"",
                "rootpw " + PASSWORD,
                "directory " + dir.resolve("db"),
                "access to * by * read",
                ""), StandardCharsets.UTF_8);
        Path data = dir.resolve("data.ldif");
        Files.writeString(data, "dn: " + SUFFIX + "\nobjectClass: dcObject\nobjectClass: organization\ndc: corp\no: Corp\n\n"
                + ldif, StandardCharsets.UTF_8);
        Process add = new ProcessBuilder(SLAPADD, "-f", dir.resolve("slapd.conf").toString(), "-l", data.toString())
                .redirectErrorStream(true).start();
        String out = new String(add.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!add.waitFor(30, TimeUnit.SECONDS) || add.exitValue() != 0) {
            throw new IOException("slapadd failed: " + out);
        }
    }

    /** Starts slapd in the foreground (ended with the JVM) and waits until it takes connections. */
    public void start() throws IOException, InterruptedException {
        Path log = dir.resolve("slapd.log");
        // slapd's output goes to a file that the error below shows
        process = ChildProcess.start(List.of("bash", "-c", "exec \"$0\" \"$@\" >>" + log + " 2>&1", SLAPD,
                "-f", dir.resolve("slapd.conf").toString(), "-h", "ldap://127.0.0.1:" + port + "/", "-d", "0"));
        long started = System.nanoTime();
        long deadline = started + TimeUnit.SECONDS.toNanos(15);
        while (!listening()) {
            // the watchdog forks slapd a moment after it starts: "not alive" counts only after a second
            boolean gone = !process.isAlive() && System.nanoTime() - started > TimeUnit.SECONDS.toNanos(1);
            if (gone || System.nanoTime() > deadline) {
                throw new IOException("slapd exited or did not listen on port " + port + " within 15 s: "
                        + (Files.exists(log) ? Files.readString(log) : "no output"));
            }
            Thread.sleep(50); // polling interval of the bounded wait above
        }
    }

    /** Stops slapd and waits until its port is closed. */
    public void stop() throws InterruptedException {
        if (process != null) {
            process.stop();
            process = null;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (listening() && System.nanoTime() < deadline) {
            Thread.sleep(50); // polling interval of the bounded wait above
        }
    }

    private boolean listening() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
