package org.hermod.api.delivery;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.hermod.api.SmtpReply;
import org.hermod.api.spool.RecipientResult;
import org.junit.Test;

/**
 * What every {@link DeliveryListener} must do: take every event delivery can produce (every outcome, missing fields,
 * hostile text) without throwing, from many delivery threads at once, and return without waiting on anything slow
 * (a burst of events is taken within a generous bound). Extend it and implement {@link #listener()}.
 */
public abstract class DeliveryListenerContract {

    /** The listener under test. */
    protected abstract DeliveryListener listener() throws Exception;

    protected static List<DeliveryEvent> events() {
        List<DeliveryEvent> out = new ArrayList<>();
        Instant now = Instant.now();
        for (RecipientResult.Status st : RecipientResult.Status.values()) {
            out.add(new DeliveryEvent(now, "Q1", "alice@origin.test", "bob@dest.test", "dest.test", "mx.dest.test",
                    "192.0.2.1", SmtpReply.of(st == RecipientResult.Status.DELIVERED ? 250
                            : st == RecipientResult.Status.FAILED ? 550 : 451, null, "reply"), st, 1, null, null));
            out.add(new DeliveryEvent(null, null, null, null, null, null, null, null, st, 0, null, null));
            out.add(new DeliveryEvent(now, "Q2", "", "not-an-address", "", null, null,
                    SmtpReply.of(550, "5.1.1", "user unknown \u0000\r\n" + "x".repeat(100_000)), st, 7, "bad-mailbox",
                    "rule-1"));
        }
        out.add(new DeliveryEvent(now, "Q3", "alice@origin.test", "gone@dest.test", "dest.test", "mx.dest.test",
                "192.0.2.1", SmtpReply.of(550, "5.1.1", "user unknown"), RecipientResult.Status.FAILED, 1, "bad-mailbox",
                "smtp-5.1.1"));
        return out;
    }

    @Test
    public void everyEventIsTakenWithoutAnException() throws Exception {
        DeliveryListener l = listener();
        for (DeliveryEvent e : events()) {
            l.onAttempt(e); // an exception here fails the test
        }
    }

    @Test
    public void aBurstFromManyDeliveryThreadsIsTakenWithoutBlocking() throws Exception {
        DeliveryListener l = listener();
        List<DeliveryEvent> events = events();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        l.onAttempt(events.get(i % events.size()));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(30, TimeUnit.SECONDS); // 2,000 events: a listener that waits on I/O per event does not finish
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
