package org.hermod.api.bounce;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.hermod.api.MailAddress;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * What every {@link SuppressionList} must do: case-insensitive membership, the first entry wins, removal, the newest
 * entries first within a limit, and the same answers under concurrent writers. Extend it and implement {@link #open()}.
 */
public abstract class SuppressionListContract {

    /** A new, empty list. */
    protected abstract SuppressionList open() throws Exception;

    /** Releases what {@link #open()} made (default: nothing). */
    protected void close(SuppressionList list) throws Exception {
    }

    protected SuppressionList list;

    @Before
    public void openList() throws Exception {
        list = open();
    }

    @After
    public void closeList() throws Exception {
        close(list);
    }

    @Test
    public void addressesAreComparedWithoutCase() {
        assertTrue(list.add("Bob@Example.COM", "bad-mailbox", "Q1"));
        assertTrue(list.contains("bob@example.com"));
        assertTrue(list.contains("BOB@EXAMPLE.COM"));
        assertFalse(list.contains("alice@example.com"));
        assertEquals(1, list.size());
    }

    @Test
    public void theFirstEntryIsKept() {
        assertTrue(list.add("bob@example.com", "bad-mailbox", "Q1"));
        assertFalse("already present", list.add("BOB@example.com", "complaint", "Q2"));
        List<SuppressionEntry> entries = list.list(10);
        assertEquals(1, entries.size());
        assertEquals("bad-mailbox", entries.get(0).reason());
        assertEquals("bob@example.com", entries.get(0).address().toLowerCase(java.util.Locale.ROOT));
    }

    @Test
    public void removeTakesTheAddressOffTheList() {
        list.add("bob@example.com", "bad-mailbox", null);
        assertTrue(list.remove("Bob@example.com"));
        assertFalse(list.contains("bob@example.com"));
        assertFalse("not there any more", list.remove("bob@example.com"));
        assertEquals(0, list.size());
    }

    @Test
    public void listingIsNewestFirstAndLimited() {
        for (int i = 0; i < 5; i++) {
            list.add("u" + i + "@example.com", "bad-mailbox", null);
        }
        List<SuppressionEntry> two = list.list(2);
        assertEquals(2, two.size());
        assertTrue(two.get(0).created().compareTo(two.get(1).created()) >= 0);
        List<SuppressionEntry> all = list.list(100);
        for (int i = 1; i < all.size(); i++) {
            assertTrue("newest first", all.get(i - 1).created().compareTo(all.get(i).created()) >= 0);
        }
        assertTrue(list.list(0).isEmpty());
        assertTrue(list.list(-1).isEmpty());
        assertEquals(5, list.list(100).size());
    }

    @Test
    public void concurrentWritersLoseNothing() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int base = t * 50;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        list.add("c" + (base + i) + "@example.com", "complaint", null);
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(200, list.size());
        assertTrue(list.contains("c199@example.com"));
    }

    @Test
    public void concurrentAddsOfOneAddressReportOneWinner() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 10; round++) {
                String address = "same" + round + "@example.com";
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                List<Future<Boolean>> fs = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    fs.add(pool.submit(() -> {
                        go.await();
                        return list.add(address.toUpperCase(java.util.Locale.ROOT), "complaint", null);
                    }));
                }
                go.countDown();
                int winners = 0;
                for (Future<Boolean> f : fs) {
                    winners += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertEquals("exactly one add of " + address + " reports it new", 1, winners);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(10, list.size());
    }

    @Test
    public void theRefusalNamesTheAddressWithAPermanentPolicyStatus() {
        assertEquals("550 5.7.1 <bob@example.com>: Recipient address rejected: on the suppression list"
                + " (earlier hard bounce or complaint)", SuppressionList.refusal(MailAddress.parse("bob@example.com"))
                .toString());
    }
}
