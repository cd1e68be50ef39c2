package org.hermod.itests;

import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.replaceConfigurationFile;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.inject.Inject;

import org.apache.karaf.shell.api.console.SessionFactory;
import org.ops4j.pax.exam.Option;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Shared set-up of the traffic-shaping tests inside the real distribution: delivery pointed at a test DNS server
 * (dnsmasq) and MX port, a rules file of the test's own, and the ways a test submits mail and reads the console.
 * The ports are chosen in the driver JVM; inside Karaf a test reads them back from the configuration ({@link #prop}).
 */
public abstract class ShapingTestSupport {

    static final int SMTP = HermodKaraf.freePort();
    static final int DNS = HermodKaraf.freePort();
    static final int MX_PORT = HermodKaraf.freePort();

    @Inject
    protected ConfigurationAdmin configAdmin;

    @Inject
    protected SessionFactory sessions;

    /** The distribution with delivery on the test DNS server and MX port, these shaping rules, and more options. */
    static Option[] shapingOptions(List<String> rules, Option... extra) throws IOException {
        File file = File.createTempFile("hermod-shaping-it", ".rules");
        Files.writeString(file.toPath(), String.join("\n", rules) + "\n", StandardCharsets.UTF_8);
        file.deleteOnExit();
        String d = "etc/org.hermod.delivery.cfg";
        List<Option> o = new ArrayList<>(List.of(
                editConfigurationFilePut(d, "dnsServers", "127.0.0.1:" + DNS),
                editConfigurationFilePut(d, "smtpPort", String.valueOf(MX_PORT)),
                editConfigurationFilePut(d, "retryInitial", "2s"),
                editConfigurationFilePut(d, "retryMax", "3s"),
                editConfigurationFilePut(d, "heloName", "hermod.test"),
                editConfigurationFilePut("etc/org.hermod.shaping.cfg", "tickMillis", "500"),
                replaceConfigurationFile("etc/hermod-shaping.rules", file)));
        o.addAll(Arrays.asList(extra));
        return HermodKaraf.options(SMTP, o.toArray(new Option[0]));
    }

    /** A port from a configuration value such as {@code 2525} or {@code 127.0.0.1:5353}. */
    protected int prop(String pid, String key) throws Exception {
        String v = String.valueOf(configAdmin.getConfiguration(pid, null).getProperties().get(key));
        return Integer.parseInt(v.substring(v.lastIndexOf(':') + 1).trim());
    }

    /** Submits one message per recipient over one SMTP session from {@code from}; returns their queue ids. */
    protected List<String> submit(String from, List<String> recipients) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(prop("org.hermod.smtp", "port"))) {
            c.reply();
            c.command("EHLO app.test");
            List<String> ids = new ArrayList<>();
            int n = 0;
            for (String to : recipients) {
                String r = c.sendMail(from, to, "Subject: shaping " + n++ + "\r\nFrom: " + from + "\r\n\r\nbody");
                assertTrue(r, r.startsWith("250 2.0.0 Ok: queued as "));
                ids.add(r.substring(r.lastIndexOf(' ') + 1).trim());
            }
            return ids;
        }
    }

    protected String console(String command) throws Exception {
        return KarafConsole.run(sessions, command);
    }
}
