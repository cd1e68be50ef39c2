package org.hermod.smtp.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;

import org.junit.Test;

public class RelayControlTest {

    private final SmtpSettings s = TestConfig.settings("hostname", "h",
            "mynetworks", new String[] {"127.0.0.0/8, 10.1.0.0/16", "::1/128"}, "relayDomains", new String[] {"example.com"});

    @Test
    public void onlyConfiguredNetworksMayRelay() throws Exception {
        assertTrue(s.mayRelay(InetAddress.getByName("127.0.0.9")));
        assertTrue(s.mayRelay(InetAddress.getByName("10.1.200.3")));
        assertTrue(s.mayRelay(InetAddress.getByName("::1")));
        assertFalse(s.mayRelay(InetAddress.getByName("10.2.0.1")));
        assertFalse(s.mayRelay(InetAddress.getByName("192.0.2.1")));
        assertFalse(s.mayRelay(InetAddress.getByName("2001:db8::1")));
    }

    @Test
    public void relayDomainsIncludeSubdomains() {
        assertTrue(s.isRelayDomain("EXAMPLE.com"));
        assertTrue(s.isRelayDomain("mail.example.com"));
        assertFalse(s.isRelayDomain("example.org"));
        assertFalse(s.isRelayDomain("badexample.com"));
    }
}
