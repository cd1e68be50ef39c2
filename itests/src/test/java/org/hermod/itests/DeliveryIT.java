package org.hermod.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Hermod relays end to end inside the real distribution: MX records over the wire from dnsmasq, delivery to Postfix's
 * smtp-sink and scripted peers, failures back to the sender as DSNs that Python's email parser and sisimai read.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DeliveryIT extends RelayTestSupport {

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return relayOptions();
    }

    @Test
    public void deliversToPostfixSmtpSinkFoundByMx() throws Exception {
        String id = submit("app@senders.test", "relay-ok", "rcpt@ok.test");
        String got = await("smtp-sink got the message", 30, () -> sinkMessageWith("Subject: relay-ok"));
        assertTrue(got, got.contains("Received: from app.test"));
        await("message left the queue", 10, () -> !queued(id));
        String log = await("accounting line", 10, () -> accounting().contains(id) ? accounting() : null);
        assertTrue(log, log.contains("\"queueId\":\"" + id + "\"") && log.contains("\"mxHost\":\"mx.ok.test\"")
                && log.contains("\"outcome\":\"DELIVERED\""));
    }

    @Test
    public void fallsBackToTheNextMxWhenTheFirstIsDown() throws Exception {
        String id = submit("app@senders.test", "relay-fallback", "rcpt@fallback.test");
        await("delivered through the second MX", 30, () -> sinkMessageWith("Subject: relay-fallback"));
        await("message left the queue", 10, () -> !queued(id));
        assertTrue(accounting().contains("mx2.fallback.test"));
    }

    @Test
    public void temporaryFailureIsRetriedAndThenDelivered() throws Exception {
        String id = submit("app@senders.test", "relay-flaky", "rcpt@flaky.test");
        await("delivered on retry", 40, () -> flaky.received().stream()
                .anyMatch(r -> r.data().contains("Subject: relay-flaky")));
        await("message left the queue", 10, () -> !queued(id));
        String log = accounting();
        assertTrue(log, log.contains("\"outcome\":\"DEFERRED\"") && log.contains("451 4.3.0"));
        assertFalse("no DSN for a message that was delivered", senders.received().stream()
                .anyMatch(r -> r.data().contains("relay-flaky")));
    }

    @Test
    public void refusedRecipientBouncesToTheSenderAndTheOthersAreDelivered() throws Exception {
        String id = submit("app@senders.test", "relay-partial", "known@reject.test", "unknown1@reject.test");
        SmtpPeer.Received dsn = await("DSN at the sender's MX", 40, () -> dsnAbout("unknown1@reject.test"));
        assertEquals(List.of("app@senders.test"), dsn.rcptTo());
        assertTrue(rejecting.received().stream().anyMatch(r -> r.rcptTo().equals(List.of("known@reject.test"))
                && r.data().contains("Subject: relay-partial")));
        String py = DsnCheck.python(dsn.data());
        assertTrue(py, py.contains("content-type: multipart/report") && py.contains("report-type: delivery-status"));
        assertTrue(py, py.contains("Final-Recipient: rfc822; unknown1@reject.test") || py.contains("Final-Recipient: rfc822;unknown1@reject.test"));
        assertTrue(py, py.contains("Action: failed") && py.contains("Status: 5.1.1") && py.contains("550 5.1.1"));
        assertFalse("the delivered recipient is not in the DSN: " + py, py.contains("known@reject.test\n"));
        String sisimai = DsnCheck.sisimai(dsn.data());
        assertTrue(sisimai, sisimai.contains("unknown1@reject.test userunknown 5.1.1"));
        await("message left the queue", 10, () -> !queued(id));
    }

    @Test
    public void expiredMessageBouncesWithDeliveryTimeExpired() throws Exception {
        submit("app@senders.test", "relay-expire", "rcpt@expire.test");
        SmtpPeer.Received dsn = await("expiry DSN", 60, () -> dsnAbout("rcpt@expire.test"));
        String py = DsnCheck.python(dsn.data());
        assertTrue(py, py.contains("Action: failed") && py.contains("Status: 4.4.7"));
    }

    @Test
    public void nullMxFailsAtOnceWithAPermanentDsn() throws Exception {
        submit("app@senders.test", "relay-nullmx", "rcpt@nullmx.test");
        SmtpPeer.Received dsn = await("null MX DSN", 30, () -> dsnAbout("rcpt@nullmx.test"));
        String py = DsnCheck.python(dsn.data());
        assertTrue(py, py.contains("Status: 5.1.10"));
    }

    @Test
    public void aBounceIsNeverBounced() throws Exception {
        String id = submit("", "bounce-of-bounce", "unknown2@reject.test");
        await("attempt recorded", 30, () -> accounting().contains(id) && accounting().contains("unknown2@reject.test"));
        // a DSN is stored before the lease is completed, so once the message has left the queue any DSN is queued too
        await("message left the queue", 10, () -> !queued(id));
        assertTrue("nothing was queued for the null sender", queues.summaries().stream()
                .noneMatch(s -> s.domain().isEmpty()));
        assertTrue(senders.received().stream().noneMatch(r -> r.data().contains("unknown2@reject.test")));
    }

    @Test
    public void operatorSeesDeferredMailAndCanBounceIt() throws Exception {
        String id = submit("app@senders.test", "relay-down", "rcpt@down.test");
        String list = await("deferred in queue-list", 30, () -> {
            String l = console("hermod:queue-list");
            return l.contains("down.test") && !l.contains("down.test                               0") ? l : null;
        });
        await("a last error", 30, () -> queues.summaries().stream()
                .anyMatch(s -> s.domain().equals("down.test") && s.deferred() == 1 && s.lastError() != null));
        list = console("hermod:queue-list");
        assertTrue(list, list.contains("down.test") && list.contains("in "));
        assertTrue(console("hermod:queue-bounce " + id).contains("will be bounced"));
        SmtpPeer.Received dsn = await("operator bounce DSN", 30, () -> dsnAbout("rcpt@down.test"));
        assertTrue(DsnCheck.python(dsn.data()).contains("Action: failed"));
        await("message left the queue", 10, () -> !queued(id));
    }
}
