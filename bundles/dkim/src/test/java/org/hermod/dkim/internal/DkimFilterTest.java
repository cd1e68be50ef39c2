package org.hermod.dkim.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.lang.annotation.Annotation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.junit.Test;

/** The component: live configuration changes, and a broken configuration never lets mail pass unsigned. */
public class DkimFilterTest {

    private static DkimConfig config(String signatures, String keyDir, String onKeyFailure) {
        return new DkimConfig() {
            @Override public Class<? extends Annotation> annotationType() { return DkimConfig.class; }
            @Override public String signatures() { return signatures; }
            @Override public String keyDirectory() { return keyDir; }
            @Override public boolean envelopeSenderFallback() { return false; }
            @Override public String signedHeaders() { return HeaderPolicy.DEFAULT_SIGNED; }
            @Override public String oversignedHeaders() { return HeaderPolicy.DEFAULT_OVERSIGNED; }
            @Override public long expirySeconds() { return 0; }
            @Override public String onKeyFailure() { return onKeyFailure; }
            @Override public String signClients() { return "127.0.0.0/8"; }
            @Override public long keyPollMillis() { return 60_000; }
        };
    }

    private static FilterDecision send(DkimFilter f, String from) throws Exception {
        Envelope env = Envelope.local(MailAddress.parse(from),
                List.of(new Recipient(MailAddress.parse("bob@elsewhere.test"), null, null)),
                Envelope.BodyType.SEVEN_BIT);
        return f.onData(new SessionInfo("s", "127.0.0.1", "h", null, false, "default"), env, Route.DEFAULT,
                TestMessage.of("From: " + from + "\nSubject: hi\n\nbody\n"));
    }

    @Test
    public void configurationAppliesLiveAndABrokenOneNeverPassesMailUnsigned() throws Exception {
        Path dir = Files.createTempDirectory("dkim-filter");
        KeyPair k = TestKeys.ed25519();
        TestKeys.write(k, dir.resolve("k.pem"));
        DkimFilter f = new DkimFilter();

        f.activate(null, config("example.com s ed25519-sha256 k.pem; bad entry", dir.toString(), "defer"));
        assertEquals("no good configuration yet: everything is deferred", FilterDecision.Action.DEFER,
                send(f, "a@other.test").action());

        f.modified(config("example.com s ed25519-sha256 k.pem", dir.toString(), "defer"));
        assertEquals(1, send(f, "a@example.com").headersAdded().size());
        assertEquals(FilterDecision.proceed(), send(f, "a@other.test"));

        f.modified(config("example.com s ed25519-sha256 k.pem", dir.toString(), "sometimes"));
        assertEquals("a broken edit keeps the previous configuration", 1,
                send(f, "a@example.com").headersAdded().size());

        f.modified(config("example.com s ed25519-sha256 missing.pem", dir.toString(), "unsigned"));
        FilterDecision d = send(f, "a@example.com");
        assertEquals(FilterDecision.Action.CONTINUE, d.action());
        assertTrue(d.headersAdded().isEmpty());
        f.deactivate();
    }

    @Test
    public void aMessageWithTwoFromFieldsIsNotSigned() throws Exception {
        Path dir = Files.createTempDirectory("dkim-filter");
        TestKeys.write(TestKeys.ed25519(), dir.resolve("k.pem"));
        DkimFilter f = new DkimFilter();
        f.activate(null, config("example.com s ed25519-sha256 k.pem", dir.toString(), "defer"));
        Envelope env = Envelope.local(MailAddress.parse("a@example.com"),
                List.of(new Recipient(MailAddress.parse("bob@elsewhere.test"), null, null)),
                Envelope.BodyType.SEVEN_BIT);
        SessionInfo s = new SessionInfo("s", "127.0.0.1", "h", null, false, "default");
        assertEquals("one From: is signed", 1, f.onData(s, env, Route.DEFAULT,
                TestMessage.of("From: a@example.com\nSubject: hi\n\nbody\n")).headersAdded().size());
        FilterDecision d = f.onData(s, env, Route.DEFAULT,
                TestMessage.of("From: a@example.com\nFrom: ceo@example.com\nSubject: hi\n\nbody\n"));
        assertEquals(FilterDecision.Action.CONTINUE, d.action());
        assertTrue("two From: fields are not signed", d.headersAdded().isEmpty());
        f.deactivate();
    }
}
