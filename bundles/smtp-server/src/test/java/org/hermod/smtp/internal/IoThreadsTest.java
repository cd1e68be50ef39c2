package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** {@code ioThreads} in org.hermod.smtp.cfg means what its description says. */
public class IoThreadsTest {

    @Test
    public void zeroMeansOneEventLoopPerProcessorNotNettysTwo() {
        assertEquals(Runtime.getRuntime().availableProcessors(), SmtpServer.ioThreads(TestConfig.smtp()));
        assertEquals(Runtime.getRuntime().availableProcessors(), SmtpServer.ioThreads(TestConfig.smtp("ioThreads", 0)));
    }

    @Test
    public void aPositiveValueIsTakenAsItIs() {
        assertEquals(3, SmtpServer.ioThreads(TestConfig.smtp("ioThreads", 3)));
    }
}
