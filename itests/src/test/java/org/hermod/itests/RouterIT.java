package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import org.hermod.api.spool.MessageInfo;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.KarafDistributionOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * The rule router in the real distribution: the rules file is edited while Hermod runs, and what the rules decide is
 * checked on the wire, in the queue and at the sinks (Postfix's smtp-sink on 127.0.0.1, which records the address a
 * message came from, and a scripted smarthost on 127.0.0.6).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RouterIT extends RelayTestSupport {

    private static SmtpPeer smarthost;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        String s = "etc/org.hermod.shaping.cfg";
        return relayOptions(
                KarafDistributionOption.editConfigurationFilePut("etc/org.hermod.routing.cfg", "rulesPollMillis", "200"),
                KarafDistributionOption.editConfigurationFilePut(s, "sources", "main=127.0.0.1/, second=127.0.0.8/"),
                KarafDistributionOption.editConfigurationFilePut(s, "pools", "default: main; bulk: second"),
                KarafDistributionOption.editConfigurationFilePut(s, "defaultPool", "default"));
    }

    @Before
    public void rules() throws Exception {
        synchronized (RouterIT.class) {
            if (smarthost == null) {
                smarthost = new SmtpPeer("127.0.0.6", prop("org.hermod.delivery", "smtpPort"),
                        (r, n) -> "250 2.1.5 Ok", 0);
            }
        }
        writeRules(List.of(
                "rcpt to-domain=refused.test,*.refused.test -> reject 550 5.7.1 \"Refused by the router\"",
                "rcpt to-domain=smarthosted.test -> smarthost=[127.0.0.6]:" + prop("org.hermod.delivery", "smtpPort")
                        + " tenant=t1",
                "mail from-domain=bulk.test -> pool=bulk campaign=spring",
                "data header:Subject=*hold-me* -> hold \"review by router\"",
                "data from-domain=stamp.test -> add-header X-Routed \"by-router\""));
    }

    private Path rulesFile() {
        return Paths.get(System.getProperty("karaf.etc"), "hermod-routing.rules");
    }

    private static int generation;

    /** Replaces the rules file and waits until the router uses it (a marker rule unique to this version matches). */
    private void writeRules(List<String> rules) throws Exception {
        int gen = ++generation;
        List<String> lines = new java.util.ArrayList<>(rules);
        lines.add("rcpt to=marker-" + gen + "@marker.test -> tag:generation=" + gen);
        Path tmp = rulesFile().resolveSibling("hermod-routing.rules.tmp");
        Files.write(tmp, lines);
        Files.move(tmp, rulesFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        await("rules version " + gen + " in force", 20, () -> console("hermod:route-test --from a@x.test --to marker-"
                + gen + "@marker.test").contains("tag:generation=" + gen));
    }

    private String rcptReply(String to) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(prop("org.hermod.smtp", "port"))) {
            c.reply();
            c.command("EHLO app.test");
            assertTrue(c.command("MAIL FROM:<app@senders.test>").startsWith("250"));
            return c.command("RCPT TO:<" + to + ">");
        }
    }

    @Test
    public void rejectsByRecipientDomainAndPicksUpAnEditLive() throws Exception {
        assertEquals("550 5.7.1 Refused by the router", rcptReply("x@refused.test").strip());
        assertEquals("550 5.7.1 Refused by the router", rcptReply("x@mx.refused.test").strip());
        assertTrue(rcptReply("x@ok.test").startsWith("250"));

        writeRules(List.of("rcpt to-domain=ok.test -> defer 451 4.7.1 \"Not now\"",
                "data from-domain=stamp.test -> add-header X-Routed \"by-router\""));
        assertEquals("451 4.7.1 Not now", rcptReply("x@ok.test").strip());
        assertTrue("the old rule is gone", rcptReply("x@refused.test").startsWith("250"));

        Files.writeString(rulesFile(), "rcpt to-domain=ok.test -> reject 999 broken\n"); // a bad edit
        String out = await("the bad edit was seen", 20, () -> {
            String log = Files.readString(Paths.get(System.getProperty("karaf.data"), "log", "karaf.log"));
            return log.contains("routing rules") && log.contains("NOT loaded") ? log : null;
        });
        assertTrue(out, out.contains("line 1"));
        assertEquals("the previous rules stay", "451 4.7.1 Not now", rcptReply("x@ok.test").strip());
        rules();
    }

    @Test
    public void routeTestSaysWhichRuleMatchedAndWhy() throws Exception {
        String out = console("hermod:route-test --from news@bulk.test --to b@smarthosted.test"
                + " --header 'Subject: please hold-me' --client 192.0.2.1");
        assertTrue(out, out.contains("line 2") && out.contains("to-domain=smarthosted.test matched b@smarthosted.test"));
        assertTrue(out, out.contains("line 3") && out.contains("from-domain=bulk.test matched news@bulk.test"));
        assertTrue(out, out.contains("Outcome: hold (review by router)"));
        assertTrue(out, out.contains("pool=bulk") && out.contains("smarthost=[127.0.0.6]:") && out.contains("tenant=t1")
                && out.contains("campaign=spring"));
    }

    @Test
    public void heldMailIsDeliveredAfterQueueRelease() throws Exception {
        String held = submit("app@senders.test", "please hold-me now", "rcpt@ok.test");
        MessageInfo info = await("held in the queue", 10, () -> queues.message(held).orElse(null));
        assertEquals("review by router", info.holdReason());
        String list = console("hermod:queue-list --held");
        assertTrue(list, list.contains(held) && list.contains("review by router"));

        String after = submit("app@senders.test", "sent after the held one", "rcpt@ok.test");
        await("the later message delivered", 30, () -> sinkMessageWith("Subject: sent after the held one"));
        assertNull("held mail was delivered", sinkMessageWith("Subject: please hold-me now"));
        assertTrue(queued(held));

        assertTrue(console("hermod:queue-release " + held).contains(held + ": released"));
        await("released mail delivered", 30, () -> sinkMessageWith("Subject: please hold-me now"));
        await("left the queue", 10, () -> !queued(held) && !queued(after));
    }

    @Test
    public void addsAHeaderSeenAtTheSink() throws Exception {
        submit("app@stamp.test", "router-stamp", "rcpt@ok.test");
        String got = await("stamped message at the sink", 30, () -> sinkMessageWith("Subject: router-stamp"));
        assertTrue(got, got.contains("X-Routed: by-router"));
    }

    @Test
    public void aSmarthostRouteGoesToTheSmarthost() throws Exception {
        String id = submit("app@senders.test", "via-smarthost", "someone@smarthosted.test");
        assertEquals("[127.0.0.6]:" + prop("org.hermod.delivery", "smtpPort"),
                await("route stored", 10, () -> queues.message(id).map(m -> m.route().smarthost()).orElse(null)));
        await("the smarthost got it (smarthosted.test has no MX)", 30, () -> smarthost.received().stream()
                .anyMatch(r -> r.data().contains("Subject: via-smarthost")));
    }

    @Test
    public void aPoolRouteSendsFromThePoolsSourceAddress() throws Exception {
        submit("news@bulk.test", "via-pool-bulk", "rcpt@ok.test");
        submit("news@other.test", "via-pool-default", "rcpt@ok.test");
        String got = await("delivered", 30, () -> sinkMessageWith("Subject: via-pool-bulk"));
        assertTrue("sent from the bulk pool's source 127.0.0.8: " + got, got.startsWith("X-Client-Addr: 127.0.0.8\r\n")
                || got.startsWith("X-Client-Addr: 127.0.0.8\n"));
        String other = await("delivered", 30, () -> sinkMessageWith("Subject: via-pool-default"));
        assertTrue("other senders use the default pool's source: " + other,
                other.startsWith("X-Client-Addr: 127.0.0.1"));
    }
}
