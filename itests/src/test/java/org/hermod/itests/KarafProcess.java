package org.hermod.itests;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;

/**
 * The Hermod distribution run as a separate operating-system process, as a user runs it, so that a test can kill it
 * with SIGKILL and start it again on the same data directory. The console is reached over Karaf's SSH server.
 */
public final class KarafProcess implements Closeable {

    private final Path home;
    private final int smtpPort;
    private final int sshPort;
    private Process process;
    private SshClient ssh;

    private KarafProcess(Path home, int smtpPort, int sshPort) {
        this.home = home;
        this.smtpPort = smtpPort;
        this.sshPort = sshPort;
    }

    /** Unpacks the distribution built by karaf-assembly into a fresh folder and configures free ports. */
    public static KarafProcess unpack(String name, Map<String, Map<String, String>> extraConfig) throws Exception {
        String version = System.getProperty("project.version", "0.2.0-SNAPSHOT");
        Path tar = Paths.get(System.getProperty("hermod.distribution",
                "../karaf-assembly/target/hermod-karaf-" + version + ".tar.gz")).toAbsolutePath();
        if (!Files.exists(tar)) {
            String repo = System.getProperty("maven.repo.local", System.getProperty("user.home") + "/.m2/repository");
            tar = Paths.get(repo, "org", "hermod", "hermod-karaf", version, "hermod-karaf-" + version + ".tar.gz");
        }
        Path dir = Paths.get("target", name).toAbsolutePath();
        if (Files.exists(dir)) {
            run(new ProcessBuilder("rm", "-rf", dir.toString()));
        }
        Files.createDirectories(dir);
        run(new ProcessBuilder("tar", "xzf", tar.toString(), "-C", dir.toString(), "--strip-components=1"));
        KarafProcess k = new KarafProcess(dir, HermodKaraf.freePort(), HermodKaraf.freePort());
        Map<String, Map<String, String>> cfg = new LinkedHashMap<>(extraConfig);
        cfg.computeIfAbsent("org.hermod.smtp", x -> new LinkedHashMap<>()).put("port", String.valueOf(k.smtpPort));
        for (Map.Entry<String, Map<String, String>> e : cfg.entrySet()) {
            Path f = dir.resolve("etc").resolve(e.getKey() + ".cfg");
            StringBuilder sb = new StringBuilder(Files.exists(f) ? Files.readString(f) + "\n" : "");
            e.getValue().forEach((key, v) -> sb.append(key).append(" = ").append(v).append('\n'));
            Files.writeString(f, sb.toString());
        }
        Path shell = dir.resolve("etc/org.apache.karaf.shell.cfg");
        Files.writeString(shell, Files.readString(shell).replaceAll("sshPort\\s*=\\s*\\d+", "sshPort = " + k.sshPort));
        return k;
    }

    private static void run(ProcessBuilder pb) throws Exception {
        Process p = pb.inheritIO().start();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("failed: " + pb.command());
        }
    }

    public int smtpPort() {
        return smtpPort;
    }

    public Path home() {
        return home;
    }

    /** Starts Karaf in the foreground (bin/karaf server) and waits until the SMTP port greets. */
    public void start() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server")
                .directory(home.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("console.log").toFile()));
        pb.environment().put("JAVA_MAX_MEM", "1024M");
        process = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("Karaf exited: see " + home.resolve("console.log"));
            }
            try (SmtpTestClient c = new SmtpTestClient("127.0.0.1", smtpPort)) {
                String g = c.reply();
                if (g != null && g.startsWith("220")) {
                    return;
                }
            } catch (IOException notYet) {
                Thread.sleep(250); // polling interval until the SMTP port answers (deadline 120 s)
            }
        }
        throw new IOException("Hermod did not open its SMTP port within 120 s; see " + home.resolve("data/log/karaf.log"));
    }

    /** SIGKILL to the Karaf JVM and its launcher: no shutdown hook, no flush, like a power cut for the process. */
    public void kill9() throws Exception {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        Thread.sleep(500); // deliberate: lets the OS release the dead JVM's port and file lock before a restart
    }

    /** Runs a console command over SSH and returns what it printed; retries while commands are still registering. */
    public String console(String command) throws Exception {
        if (ssh == null) {
            ssh = SshClient.setUpDefaultClient();
            ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
            ssh.start();
        }
        Exception last = null;
        for (int i = 0; i < 120; i++) {
            try (ClientSession s = ssh.connect("karaf", "127.0.0.1", sshPort).verify(Duration.ofSeconds(10)).getSession()) {
                s.addPasswordIdentity("karaf");
                s.auth().verify(Duration.ofSeconds(10));
                try (ChannelExec ch = s.createExecChannel(command + "\n")) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    ch.setOut(out);
                    ch.setErr(out);
                    ch.open().verify(Duration.ofSeconds(10));
                    ch.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), TimeUnit.SECONDS.toMillis(60));
                    String text = out.toString(StandardCharsets.UTF_8);
                    if (!text.contains("Command not found")) {
                        return text;
                    }
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(500); // polling interval: ssh comes up after the SMTP port (bounded loop)
        }
        throw new IOException("console command failed: " + command, last);
    }

    public String log() throws IOException {
        Path f = home.resolve("data/log/karaf.log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Override
    public void close() throws IOException {
        if (ssh != null) {
            ssh.stop();
        }
        if (process != null && process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

}
