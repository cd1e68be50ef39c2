package org.hermod.smtp.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;

import org.junit.Test;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;

public class ConnectionLimiterTest {

    /** An EmbeddedChannel that looks like a TCP connection from {@code ip}. */
    private static EmbeddedChannel from(String ip, ChannelHandler... handlers) {
        return new EmbeddedChannel(handlers) {
            @Override
            protected SocketAddress remoteAddress0() {
                return new InetSocketAddress(ip, 40000);
            }
        };
    }

    private static String reply(EmbeddedChannel ch) {
        ByteBuf b = ch.readOutbound();
        if (b == null) {
            return "";
        }
        String s = b.toString(StandardCharsets.US_ASCII);
        b.release();
        return s;
    }

    @Test
    public void connectionRatePerClientIpExceptMynetworks() {
        ConnectionLimiter limiter = new ConnectionLimiter(TestConfig.settings("hostname", "mx.test",
                "mynetworks", new String[] {"10.0.0.0/8"}, "maxConnectionsPerIpPerMinute", 2), new ClientRates());
        EmbeddedChannel a = from("192.0.2.7", limiter);
        a.close(); // closed connections still count towards the rate
        EmbeddedChannel b = from("192.0.2.7", limiter);
        assertTrue(b.isActive());
        EmbeddedChannel c = from("192.0.2.7", limiter);
        assertTrue(reply(c).startsWith("421 4.7.0 mx.test Error: too many connections from your IP address per minute"));
        assertFalse(c.isActive());
        assertTrue("another client is not affected", from("192.0.2.8", limiter).isActive());
        for (int i = 0; i < 5; i++) {
            EmbeddedChannel trusted = from("10.1.2.3", limiter);
            assertTrue(trusted.isActive());
            trusted.close();
        }
    }
}
