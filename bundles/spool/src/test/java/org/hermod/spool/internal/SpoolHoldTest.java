package org.hermod.spool.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.DeliveryItem;
import org.hermod.api.spool.DomainSummary;
import org.hermod.api.spool.MessageInfo;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** What an operator sees of routes and holds: message details, the held list, queue counts, and held-mail expiry. */
public class SpoolHoldTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private SpoolService spool;

    @After
    public void close() throws Exception {
        if (spool != null) {
            spool.close();
        }
    }

    private static Envelope env(Instant received, String... rcpts) {
        return new Envelope(MailAddress.parse("from@sender.test"),
                java.util.Arrays.stream(rcpts).map(r -> Recipient.of(MailAddress.parse(r))).toList(), null, null,
                Envelope.BodyType.SEVEN_BIT, false, "c", "127.0.0.1", received);
    }

    private String store(Envelope e, Route route, String hold) throws Exception {
        return spool.store(spool.newQueueId(), e, route, hold, "Subject: s\r\n\r\nb\r\n".getBytes(StandardCharsets.UTF_8))
                .get(10, TimeUnit.SECONDS);
    }

    @Test
    public void messageDetailsHeldListAndCountsShowHeldMailAcrossARestart() throws Exception {
        Path dir = tmp.newFolder().toPath();
        spool = SpoolService.open(dir, 1 << 20);
        Route route = new Route("bulk", null, "t1", "c1", 2, Map.of("k", "v"));
        Instant now = Instant.now();
        String newer = store(env(now, "a@d.test"), route, "review");
        String older = store(env(now.minusSeconds(60), "b@d.test", "c@e.test"), Route.DEFAULT, null);
        String ready = store(env(now, "d@d.test"), Route.DEFAULT, null);
        assertTrue(spool.hold(older, "  abuse desk  "));

        spool.close();
        spool = SpoolService.open(dir, 1 << 20);

        assertEquals("oldest first", List.of(older, newer), spool.held(10));
        assertEquals(List.of(older), spool.held(1));
        MessageInfo info = spool.message(newer).orElseThrow();
        assertEquals(route, info.route());
        assertEquals("review", info.holdReason());
        assertEquals(MessageInfo.State.HELD, info.recipients().get(0).state());
        MessageInfo o = spool.message(older).orElseThrow();
        assertEquals("abuse desk", o.holdReason());
        assertEquals(List.of(MessageInfo.State.HELD, MessageInfo.State.HELD),
                o.recipients().stream().map(MessageInfo.RecipientState::state).toList());
        DomainSummary d = spool.summaries().stream().filter(s -> s.domain().equals("d.test")).findFirst().orElseThrow();
        assertEquals(3, d.messages());
        assertEquals("held mail waits: only one of three is ready", 1, d.messages() - d.deferred() - d.active());
        assertEquals(List.of(ready), spool.lease("d.test", 10).stream().map(DeliveryItem::queueId).toList());

        assertTrue(spool.releaseHold(older));
        assertEquals(List.of(newer), spool.held(10));
        MessageInfo released = spool.message(older).orElseThrow();
        assertNull(released.holdReason());
        assertEquals(MessageInfo.State.QUEUED, released.recipients().get(1).state());
        assertEquals(older, spool.lease("e.test", 10).get(0).queueId());
    }

    @Test
    public void aMessageHeldPastItsMaximumAgeIsReturnedToItsSenderNotDelivered() throws Exception {
        spool = SpoolService.open(tmp.newFolder().toPath(), 1 << 20, 500, null);
        String young = store(env(Instant.now().plusSeconds(3600), "y@d.test"), Route.DEFAULT, "wait");
        String old = store(env(Instant.now(), "x@d.test"), Route.DEFAULT, "wait");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<DeliveryItem> items = spool.lease("d.test", 10);
        while (items.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(10); // polling interval
            items = spool.lease("d.test", 10);
        }
        assertEquals(1, items.size());
        assertEquals(old, items.get(0).queueId());
        assertTrue("leased only to be bounced", items.get(0).bounceRequested());
        assertEquals("still held, oldest first", List.of(old, young), spool.held(10));
    }
}
