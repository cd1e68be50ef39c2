package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.Test;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/** The start-up warm-up: every synthetic message goes through a real session on loopback, and nothing stays open. */
public class ServerWarmupTest {

    @Test
    public void everySyntheticMessageIsAcceptedEvenWhenLoopbackIsNotInMynetworksAndFiltersAreRequired() {
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try {
            // an operator's settings that would refuse the warm-up's mail if it used them as they are
            SmtpServerConfig config = TestConfig.smtp("mynetworks", new String[] {"10.99.0.0/16"},
                    "filtersRequired", true, "hostname", "mx.test");
            ServerWarmup.Result r = ServerWarmup.run(config, workers, NioServerSocketChannel.class);
            assertEquals(ServerWarmup.MESSAGES, r.accepted());
            assertTrue(r.port() > 0);
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), r.port()), 2_000);
                org.junit.Assert.fail("the warm-up's private listener is still open on " + r.port());
            } catch (java.io.IOException expected) {
                // refused: closed before the real listeners open
            }
        } finally {
            workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    public void syntheticMessagesAreWellFormedAndDotStuffed() {
        for (int k : new int[] {0, 1, 7}) {
            String m = new String(ServerWarmup.message(k), StandardCharsets.US_ASCII);
            assertTrue(m.endsWith("\r\n.\r\n"));
            assertTrue("a stuffed line", m.contains("\r\n..line 0 "));
            assertTrue("a header section, then the body", m.indexOf("\r\n\r\n") > 0);
            assertEquals("no bare LF", m.replace("\r\n", "").indexOf('\n'), -1);
        }
        assertTrue("every tenth is larger", ServerWarmup.message(10).length > 30_000);
    }
}
