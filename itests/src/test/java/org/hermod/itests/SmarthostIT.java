package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.KarafDistributionOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Smarthost routing in the real distribution: the rule router (etc/hermod-routing.rules, live reloaded) sends two
 * partner domains to a smarthost that listens on its own address and port (127.0.0.10, not the MX port), and the
 * sender domain bulk.test to pool {@code bulk} (source 127.0.0.9). Partner mail must arrive at the smarthost, from the
 * pool's source address when a pool is routed too, both partner domains over one connection; other mail goes by MX
 * (dnsmasq) to the smtp-sink on 127.0.0.1. The partner domains have no DNS records at all.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SmarthostIT extends RelayTestSupport {

    private static CountingPeer smarthost;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        String s = "etc/org.hermod.shaping.cfg";
        return relayOptions(
                KarafDistributionOption.editConfigurationFilePut("etc/org.hermod.routing.cfg", "rulesPollMillis", "200"),
                KarafDistributionOption.editConfigurationFilePut(s, "sources", "main=127.0.0.1/, bulk1=127.0.0.9/"),
                KarafDistributionOption.editConfigurationFilePut(s, "pools", "default: main; bulk: bulk1"),
                KarafDistributionOption.editConfigurationFilePut(s, "defaultPool", "default"));
    }

    @Before
    public void smarthostAndRules() throws Exception {
        synchronized (SmarthostIT.class) {
            if (smarthost != null) {
                return;
            }
            int port = HermodKaraf.freePort();
            smarthost = new CountingPeer("127.0.0.10", port);
            Path rules = Paths.get(System.getProperty("karaf.etc"), "hermod-routing.rules");
            Path tmp = rules.resolveSibling("hermod-routing.rules.tmp");
            Files.write(tmp, List.of(
                    "rcpt to-domain=partner.test,partner2.test -> smarthost=[127.0.0.10]:" + port + " continue",
                    "rcpt to=marker@marker.test -> tag:loaded=yes",
                    "mail from-domain=bulk.test -> pool=bulk"));
            Files.move(tmp, rules, StandardCopyOption.REPLACE_EXISTING);
            await("the routing rules in force", 20, () -> console(
                    "hermod:route-test --from a@x.test --to marker@marker.test").contains("loaded=yes"));
        }
    }

    @Test
    public void partnerMailGoesToTheSmarthostOverOneConnectionAndOtherMailByMx() throws Exception {
        int before = smarthost.accepted();
        String first = submit("app@senders.test", "to partner one", "anna@partner.test");
        await("the first partner message at the smarthost", 30, () -> smarthost.accepted() >= before + 1);
        await("it left the queue", 10, () -> !queued(first));
        String second = submit("app@senders.test", "to partner two", "ben@partner2.test");
        String direct = submit("app@senders.test", "to the mx", "carl@ok.test");
        await("the second partner message at the smarthost", 30, () -> smarthost.accepted() >= before + 2);
        String atSink = await("the unrouted message at the MX sink", 30, () -> sinkMessageWith("to the mx"));
        assertTrue(atSink, atSink.contains("Subject: to the mx"));
        await("all left the queue", 10, () -> !queued(second) && !queued(direct));

        List<CountingPeer.Connection> conns = smarthost.connections();
        Set<String> rcpts = conns.stream().flatMap(c -> c.recipients.stream()).collect(Collectors.toSet());
        assertTrue(rcpts.toString(), rcpts.containsAll(Set.of("anna@partner.test", "ben@partner2.test")));
        assertTrue("nothing routed by MX reached the smarthost: " + rcpts, !rcpts.contains("carl@ok.test"));
        assertTrue("both partner domains over one pooled connection: " + conns.size() + " connection(s)",
                conns.stream().anyMatch(c -> c.recipients.contains("anna@partner.test")
                        && c.recipients.contains("ben@partner2.test")));
        assertEquals("sent from the default pool's source", Set.of("127.0.0.1"),
                conns.stream().filter(c -> c.recipients.contains("anna@partner.test")).map(c -> c.client)
                        .collect(Collectors.toSet()));
        assertTrue("no partner mail at the MX sink", sinkMessageWith("to partner one") == null
                && sinkMessageWith("to partner two") == null);
        String log = accounting();
        assertTrue(log, log.lines().anyMatch(l -> l.contains("\"queueId\":\"" + first + "\"")
                && l.contains("\"outcome\":\"DELIVERED\"") && l.contains("\"mxAddress\":\"127.0.0.10\"")));
    }

    @Test
    public void aRouteWithPoolAndSmarthostLeavesFromThePoolsSourceForTheSmarthost() throws Exception {
        int before = smarthost.accepted();
        String id = submit("news@bulk.test", "bulk to partner", "dora@partner.test");
        await("the bulk message at the smarthost", 30, () -> smarthost.accepted() >= before + 1);
        await("it left the queue", 10, () -> !queued(id));
        CountingPeer.Arrival a = smarthost.arrivals().stream()
                .filter(x -> x.recipients().contains("dora@partner.test")).findFirst().orElse(null);
        assertNotNull(a);
        assertEquals("the bulk pool's source address", "127.0.0.9", a.client());
        assertTrue("not at the MX sink", sinkMessageWith("bulk to partner") == null);
    }
}
