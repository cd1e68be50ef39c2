package org.hermod.bounce.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.ReturnPathCodec;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class SuppressionAndVerpTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void suppressionSurvivesReopen() throws Exception {
        String db = tmp.getRoot().toPath().resolve("derby").toString();
        DerbySuppressionList s = new DerbySuppressionList(db);
        assertTrue(s.add("User@Example.COM", "bad-mailbox", "queue Q1"));
        assertFalse(s.add("user@example.com", "bad-mailbox", "again"));
        assertTrue(s.add("other@example.com", "complaint", null));
        assertTrue(s.remove("other@example.com"));
        DerbySuppressionList reopened = new DerbySuppressionList(db);
        assertTrue(reopened.contains("user@EXAMPLE.com"));
        assertFalse(reopened.contains("other@example.com"));
        assertEquals("bad-mailbox", reopened.list(10).get(0).reason());
        assertEquals(1, reopened.size());
    }

    @Test
    public void verpRoundTripAndTamperRejection() throws Exception {
        HmacReturnPathCodec c = new HmacReturnPathCodec("secret".getBytes(StandardCharsets.UTF_8),
                "bounces.example.com");
        String rp = c.encode("Q123.4", "Jane+x@Example.org");
        assertTrue(rp, rp.matches("b-Q123\\.4-jane\\+x=example\\.org-[0-9a-f]{8}@bounces\\.example\\.com"));
        assertEquals(Optional.of(new ReturnPathCodec.Decoded("Q123.4", "jane+x@example.org")), c.decode(rp));
        assertEquals(Optional.of(new ReturnPathCodec.Decoded("Q123.4", "jane+x@example.org")),
                c.decode("<" + rp + ">"));
        assertTrue(c.decode(rp.replace("b-Q123.4", "b-Q123.5")).isEmpty());
        int at = rp.indexOf('@');
        char last = rp.charAt(at - 1);
        assertTrue(c.decode(rp.substring(0, at - 1) + (last == '0' ? '1' : '0') + rp.substring(at)).isEmpty());
        assertTrue(new HmacReturnPathCodec("other".getBytes(StandardCharsets.UTF_8), "bounces.example.com")
                .decode(rp).isEmpty());
        assertTrue(c.decode("someone@example.com").isEmpty());
    }

    @Test
    public void generatedKeyIsStoredOnceAndReused() throws Exception {
        Path key = tmp.getRoot().toPath().resolve("hermod/verp.key");
        byte[] k1 = HmacReturnPathCodec.loadOrCreateKey(key);
        byte[] k2 = HmacReturnPathCodec.loadOrCreateKey(key);
        assertEquals(new String(k1, StandardCharsets.US_ASCII), new String(k2, StandardCharsets.US_ASCII));
    }

    @Test
    public void processorSuppressesHardBounceFromVerpAndLogsEvent() throws Exception {
        DerbySuppressionList s = new DerbySuppressionList(tmp.getRoot().toPath().resolve("db").toString());
        HmacReturnPathCodec codec = new HmacReturnPathCodec(new byte[] {1, 2, 3}, "bounces.example.com");
        Path log = tmp.getRoot().toPath().resolve("log/bounce-events.jsonl");
        BounceEventLog events = new BounceEventLog(log);
        DefaultBounceProcessor p = new DefaultBounceProcessor(new RuleBasedBounceClassifier((Path) null), s, codec,
                events, null);
        String rp = codec.encode("Q9", "kijitora@example.ne.jp");
        BounceReport r = p.process(Corpus.bounce("lhost-qmail-01.eml"), rp);
        assertEquals("Q9", r.queueId());
        assertTrue(s.contains("kijitora@example.ne.jp"));
        events.sync().get(5, java.util.concurrent.TimeUnit.SECONDS);
        String line = Files.readAllLines(log).get(0);
        assertTrue(line, line.contains("\"queueId\":\"Q9\"") && line.contains("\"category\":\"bad-mailbox\"")
                && line.contains("\"source\":\"async\""));
        // a complaint without a verified VERP return path is logged but suppresses nothing
        int before = s.size();
        BounceReport arf = p.process(Corpus.bounce("arf-02.eml"), null);
        assertEquals(before, s.size());
        // to a signed return path it suppresses the signed recipient
        String signed = codec.encode("Q10", "reader@example.org");
        arf = p.process(Corpus.bounce("arf-02.eml"), signed);
        assertTrue(arf.feedbackType(), s.contains("reader@example.org"));
    }
}
