package org.hermod.itests;

import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.keepRuntimeFolder;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption;

/** Pax Exam options that boot the Hermod distribution as built by karaf-assembly, with free ports. */
public final class HermodKaraf {

    private HermodKaraf() {
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The distribution this build just made (karaf-assembly/target), so that the tests never run an older copy from the
     * local Maven repository; falls back to the repository when run outside the reactor.
     */
    static String distribution(String version) {
        File built = new File(System.getProperty("hermod.distribution",
                "../karaf-assembly/target/hermod-karaf-" + version + ".tar.gz"));
        if (built.isFile()) {
            return built.getAbsoluteFile().toURI().toString();
        }
        return maven("org.hermod", "hermod-karaf", version).type("tar.gz").getURL();
    }

    /** The distribution with the SMTP server on {@code smtpPort}, plus any extra options. */
    public static Option[] options(int smtpPort, Option... extra) {
        String version = System.getProperty("project.version", "0.2.0-SNAPSHOT");
        String repo = System.getProperty("maven.repo.local", System.getProperty("user.home") + "/.m2/repository");
        List<Option> o = new ArrayList<>(List.of(
                karafDistributionConfiguration()
                        .frameworkUrl(distribution(version))
                        .name("hermod").karafVersion("4.4.10").unpackDirectory(new File("target/exam"))
                        .useDeployFolder(false),
                keepRuntimeFolder(),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(),
                logLevel(LogLevelOption.LogLevel.INFO),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository", repo),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "port", String.valueOf(smtpPort)),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "hostname", "hermod.test"),
                editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", String.valueOf(freePort())),
                // Pax Exam's probe waits 10 s by default for its services (Injector, ProbeInvokerFactory) while
                // hermod-core installs; on a loaded 2-core machine that is not enough and the test hangs
                editConfigurationFilePut("etc/system.properties",
                        "org.ops4j.pax.swissbox.tracker.ServiceLookup.DEFAULT_TIMEOUT", "180000"),
                editConfigurationFilePut("etc/system.properties",
                        "org.ops4j.pax.exam.raw.extender.intern.Parser.DEFAULT_TIMEOUT", "180000")));
        o.addAll(Arrays.asList(extra));
        return o.toArray(new Option[0]);
    }
}
