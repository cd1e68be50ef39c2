package org.hermod.eventlog;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class JsonLinesLogTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void eachEventIsOneLineOfValidJsonWithHostileTextEscaped() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("logs/events.jsonl");
        try (JsonLinesLog log = new JsonLinesLog(JsonLinesLog.Settings.of(f), "test-log")) {
            log.append(e -> e.string("reply", "550 \"no\"\r\nInjected: {\"x\":1}\u0000\u00e9").number("attempt", 3)
                    .bool("ok", false).string("missing", null));
            log.sync().get(5, TimeUnit.SECONDS);
        }
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        assertEquals(1, lines.size());
        assertEquals("{\"reply\":\"550 \\\"no\\\"\\r\\nInjected: {\\\"x\\\":1}\\u0000\u00e9\",\"attempt\":3,"
                + "\"ok\":false,\"missing\":null}", lines.get(0));
    }

    @Test
    public void anEventThatFailsHalfWayLeavesNoBrokenLine() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("events.jsonl");
        try (JsonLinesLog log = new JsonLinesLog(JsonLinesLog.Settings.of(f), "test-log")) {
            log.append(e -> e.string("a", "1"));
            log.append(e -> {
                e.string("b", "half");
                throw new IllegalStateException("a broken event");
            });
            log.append(e -> e.string("c", "3"));
            log.sync().get(5, TimeUnit.SECONDS);
        }
        assertEquals(List.of("{\"a\":\"1\"}", "{\"c\":\"3\"}"), Files.readAllLines(f));
    }

    @Test
    public void rotatesBySizeAndKeepsOnlyTheNewestFiles() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("events.jsonl");
        try (JsonLinesLog log = new JsonLinesLog(JsonLinesLog.Settings.of(f).withRotation(1000, 2), "test-log")) {
            for (int i = 0; i < 100; i++) {
                int n = i;
                log.append(e -> e.number("n", n).string("pad", "x".repeat(80)));
            }
            log.sync().get(5, TimeUnit.SECONDS);
        }
        assertTrue(Files.exists(f.resolveSibling("events.jsonl.1")));
        assertTrue(Files.exists(f.resolveSibling("events.jsonl.2")));
        assertFalse("only two rotated files are kept", Files.exists(f.resolveSibling("events.jsonl.3")));
        for (String name : List.of("events.jsonl", "events.jsonl.1", "events.jsonl.2")) {
            Path p = f.resolveSibling(name);
            if (Files.exists(p)) {
                assertTrue(name + " stays near its bound", Files.size(p) < 1000 + 200);
            }
        }
        List<String> newest = Files.readAllLines(f.resolveSibling("events.jsonl.1"));
        assertTrue(newest.get(newest.size() - 1).startsWith("{\"n\":"));
    }

    @Test
    public void aFileMovedAwayByLogrotateIsStartedAgainUnderItsName() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("events.jsonl");
        try (JsonLinesLog log = new JsonLinesLog(JsonLinesLog.Settings.of(f), "test-log")) {
            log.append(e -> e.string("before", "rotation"));
            log.sync().get(5, TimeUnit.SECONDS);
            Files.move(f, f.resolveSibling("events.jsonl.old"));
            for (int i = 0; i < 200; i++) {
                int n = i;
                log.append(e -> e.number("after", n));
            }
            log.sync().get(5, TimeUnit.SECONDS);
        }
        assertTrue("a new file under the configured name", Files.exists(f));
        assertTrue(Files.readAllLines(f).get(Files.readAllLines(f).size() - 1).contains("\"after\":199"));
    }

    @Test
    public void aFullQueueDropsAndCountsInsteadOfBlocking() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("events.jsonl");
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
        try (JsonLinesLog log = new JsonLinesLog(new JsonLinesLog.Settings(f, 0, 0, 4), "test-log")) {
            log.append(e -> {
                busy.countDown();
                try {
                    hold.await(5, TimeUnit.SECONDS); // keeps the writer busy so that the queue fills
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
                e.string("first", "x");
            });
            assertTrue(busy.await(5, TimeUnit.SECONDS));
            for (int i = 0; i < 20; i++) {
                log.append(e -> e.string("more", "x"));
            }
            assertEquals("4 fit in the queue, the rest are dropped at once", 16, log.dropped());
            hold.countDown();
            log.sync().get(5, TimeUnit.SECONDS);
            assertEquals(5, log.written());
        }
    }
}
