package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import javax.inject.Inject;

import org.hermod.api.spool.QueueManager;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Recipient validation of a relay domain against a real LDAP server (slapd on a loopback port) in the real
 * distribution: a directory entry is accepted, an unknown address is refused at RCPT with 550 5.1.1 (no backscatter
 * later), an address extension finds its base address, a filter-injection attempt matches nothing, and with the server
 * stopped an address not in the cache gets 451 4.4.3 (never accepted).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LdapRecipientIT {

    // chosen where the configuration is written; inside Karaf (where the tests run) they are read back from ConfigAdmin
    private static final int SMTP_PORT = HermodKaraf.freePort();
    private static final int LDAP_PORT = HermodKaraf.freePort();

    private static final String PEOPLE = String.join("\n",
            "dn: ou=people," + Slapd.SUFFIX, "objectClass: organizationalUnit", "ou: people", "",
            "dn: uid=alice,ou=people," + Slapd.SUFFIX, "objectClass: inetOrgPerson", "uid: alice", "cn: Alice",
            "sn: A", "mail: alice@corp.test", "",
            "dn: uid=bob,ou=people," + Slapd.SUFFIX, "objectClass: inetOrgPerson", "uid: bob", "cn: Bob", "sn: B",
            "mail: bob@eu.corp.test", "",
            "dn: uid=carol,ou=people," + Slapd.SUFFIX, "objectClass: inetOrgPerson", "uid: carol", "cn: Carol",
            "sn: C", "mail: carol@elsewhere.test", "");

    @Inject
    ConfigurationAdmin configAdmin;

    @Inject
    QueueManager queues;

    @Inject
    org.osgi.framework.BundleContext bundleContext;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return HermodKaraf.options(SMTP_PORT,
                editConfigurationFilePut("etc/org.hermod.delivery.cfg", "dnsServers", "127.0.0.1:" + HermodKaraf.freePort()),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "mynetworks", "192.0.2.0/24"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "relayDomains", "corp.test"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapDomains", "corp.test"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapUrl", "ldap://127.0.0.1:" + LDAP_PORT),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapBindDn", Slapd.ADMIN),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapBindPassword", Slapd.PASSWORD),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapBaseDn", Slapd.SUFFIX),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapFilter", "(mail=%s)"),
                editConfigurationFilePut("etc/org.hermod.smtp.cfg", "ldapTimeoutSeconds", "3"));
    }

    private int setting(String key) throws Exception {
        String v = String.valueOf(configAdmin.getConfiguration("org.hermod.smtp", null).getProperties().get(key));
        return Integer.parseInt(v.substring(v.lastIndexOf(':') + 1));
    }

    private static String rcpt(SmtpTestClient c, String address) throws Exception {
        return c.command("RCPT TO:<" + address + ">");
    }

    @Test
    public void recipientsOfTheRelayDomainAreLookedUpInLdap() throws Exception {
        int smtp = setting("port");
        try (Slapd ldap = new Slapd(setting("ldapUrl"), PEOPLE)) {
            ldap.start();
            try (SmtpTestClient c = SmtpTestClient.connect(smtp)) {
                assertTrue(c.reply().startsWith("220 "));
                assertTrue(c.command("EHLO client.test").startsWith("250"));
                assertTrue(c.command("MAIL FROM:<sender@example.org>").startsWith("250"));
                assertEquals("250 2.1.5 Ok", rcpt(c, "alice@corp.test"));
                assertEquals("250 2.1.5 Ok", rcpt(c, "Alice+news@corp.test"));
                assertEquals("250 2.1.5 Ok", rcpt(c, "bob@eu.corp.test"));
                String r = rcpt(c, "carol@corp.test");
                assertTrue(r, r.startsWith("550 5.1.1 <carol@corp.test>: Recipient address rejected"));
                r = rcpt(c, "*@corp.test"); // an unescaped * would match alice's entry
                assertTrue(r, r.startsWith("550 5.1.1"));
                r = rcpt(c, "bob@corp.test"); // bob is in eu.corp.test only
                assertTrue(r, r.startsWith("550 5.1.1"));
                assertTrue(c.command("DATA").startsWith("354"));
                c.send("Subject: ldap\r\n\r\nhello\r\n.\r\n");
                r = c.reply();
                assertTrue(r, r.startsWith("250 2.0.0 Ok: queued as "));
                String id = r.substring("250 2.0.0 Ok: queued as ".length()).trim();
                assertEquals(3, queues.message(id).orElseThrow().envelope().recipients().size());

                ldap.stop();
                assertTrue(c.command("MAIL FROM:<sender@example.org>").startsWith("250"));
                r = rcpt(c, "dave@corp.test");
                assertTrue(r, r.startsWith("451 4.4.3 <dave@corp.test>"));
                assertEquals("a cached answer needs no server", "250 2.1.5 Ok", rcpt(c, "alice@corp.test"));
                r = rcpt(c, "carol@corp.test");
                assertTrue("a cached refusal stays a refusal: " + r, r.startsWith("550 5.1.1"));

                ldap.start();
                String back = Await.value("the directory to answer again", 30, () -> {
                    String x = rcpt(c, "erin@corp.test");
                    return x.startsWith("4") ? null : x; // 451 is not cached: each try asks the directory
                });
                assertTrue(back, back.startsWith("550 5.1.1 <erin@corp.test>"));
                assertEquals("221 2.0.0 Bye", c.command("QUIT"));
            }
            // the source is configuration, applied live to new sessions: with another filter, uid=carol is found
            configure("ldapFilter", "(|(mail=%s)(uid=%u))");
            try (SmtpTestClient c = SmtpTestClient.connect(smtp)) {
                c.reply();
                c.command("EHLO client.test");
                c.command("MAIL FROM:<sender@example.org>");
                assertEquals("250 2.1.5 Ok", rcpt(c, "alice@corp.test"));
                String r = rcpt(c, "zed@corp.test");
                assertTrue(r, r.startsWith("550 5.1.1"));
                assertEquals("250 2.1.5 Ok", rcpt(c, "carol@corp.test"));
            }
        }
    }

    /** Changes org.hermod.smtp and waits until the server applied it (its service properties show the change). */
    private void configure(String key, String value) throws Exception {
        org.osgi.service.cm.Configuration c = configAdmin.getConfiguration("org.hermod.smtp", null);
        java.util.Dictionary<String, Object> p = c.getProperties();
        p.put(key, value);
        c.update(p);
        Await.until(key + " applied", 30, () -> {
            org.osgi.framework.ServiceReference<?>[] refs = bundleContext.getAllServiceReferences(
                    "org.hermod.smtp.internal.SmtpServer", null);
            return refs != null && value.equals(String.valueOf(refs[0].getProperty(key)));
        });
    }
}
