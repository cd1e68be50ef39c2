package org.hermod.delivery.internal;

import static org.junit.Assert.assertEquals;

import java.util.concurrent.TimeUnit;

import org.hermod.delivery.internal.smtp.SmtpClient;
import org.junit.Test;

public class WarmupTest {

    @Test
    public void everyWarmUpMessageGoesThroughTheRealResolverAndClientToItsOwnDnsAndSink() throws Exception {
        try (SmtpClient client = new SmtpClient(1)) {
            Warmup w = new Warmup(client);
            assertEquals(Warmup.MESSAGES, (int) w.run().get(60, TimeUnit.SECONDS));
            assertEquals(Warmup.DNS_NAMES, w.resolved);
        }
    }

    @Test
    public void aStoppedWarmUpSendsNothingMore() throws Exception {
        try (SmtpClient client = new SmtpClient(1)) {
            Warmup w = new Warmup(client);
            w.stop();
            assertEquals(0, (int) w.run().get(60, TimeUnit.SECONDS));
            assertEquals(0, w.resolved);
        }
    }
}
