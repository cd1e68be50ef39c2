package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** {@code ioThreads} in org.hermod.smtp.cfg means what its description says. */
public class IoThreadsTest {

    @Test
    public void zeroMeansOneEventLoopPerProcessorNotNettysTwo() {
        assertEquals(io.netty.util.NettyRuntime.availableProcessors(), SmtpServer.ioThreads(TestConfig.smtp()));
        assertEquals(io.netty.util.NettyRuntime.availableProcessors(), SmtpServer.ioThreads(TestConfig.smtp("ioThreads", 0)));
    }

    @Test
    public void aPositiveValueIsTakenAsItIs() {
        assertEquals(3, SmtpServer.ioThreads(TestConfig.smtp("ioThreads", 3)));
    }
}
