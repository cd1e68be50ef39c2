package org.hermod.spool.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.List;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.routing.Route;
import org.junit.Test;

/** The in-memory copy of just-stored content: within its budget, oldest out first, handed out once. */
public class RecentContentTest {

    private static MessageEntry entry(String id) {
        Envelope e = Envelope.local(MailAddress.parse("s@x.test"), List.of(Recipient.of(MailAddress.parse("r@y.test"))),
                Envelope.BodyType.SEVEN_BIT);
        return new QueueIndex((type, head, content) -> null, () -> { }).newEntry(id, e, new byte[1], Route.DEFAULT, null);
    }

    @Test
    public void keepsWithinItsBudgetDroppingTheOldestAndHandsEachOutOnce() {
        RecentContent r = new RecentContent(100);
        MessageEntry a = entry("A");
        MessageEntry b = entry("B");
        MessageEntry c = entry("C");
        r.put(a, new byte[40]);
        r.put(b, new byte[40]);
        r.put(c, new byte[40]); // 120 > 100: the oldest (a) goes
        assertEquals(80, r.bytes());
        assertNull("dropped to fit the budget: read from the journal", r.take(a));
        byte[] kept = r.take(b);
        assertArrayEquals(new byte[40], kept);
        assertNull("handed out once", r.take(b));
        assertEquals(40, r.bytes());
        r.put(a, new byte[101]);
        assertNull("larger than the whole budget: never kept", r.take(a));
        assertEquals(40, r.bytes());
        assertNull("a budget of 0 keeps nothing", keepOne(new RecentContent(0), c));
    }

    private static byte[] keepOne(RecentContent r, MessageEntry m) {
        r.put(m, new byte[1]);
        return r.take(m);
    }
}
