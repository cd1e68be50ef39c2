package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import io.netty.buffer.ByteBufAllocator;

/** Certificate reloads: retried until usable, never a mismatched or half-written pair, and AEAD/ECDHE suites only. */
public class TlsCertificatesTest {

    private Path dir;
    private Path cert;
    private Path key;
    private long clock = System.currentTimeMillis() - 3_600_000;

    @Before
    public void pairs() throws Exception {
        dir = Files.createTempDirectory("hermod-tlscerts");
        cert = dir.resolve("c.pem");
        key = dir.resolve("k.pem");
        SelfSigned.write(dir.resolve("a.crt"), dir.resolve("a.key"), "a.test");
        SelfSigned.write(dir.resolve("b.crt"), dir.resolve("b.key"), "b.test");
        install("a.crt", cert);
        install("a.key", key);
    }

    @After
    public void clean() throws Exception {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** Copies a prepared file over the live one with a new, later modification time. */
    private FileTime install(String from, Path to) throws Exception {
        Files.copy(dir.resolve(from), to, StandardCopyOption.REPLACE_EXISTING);
        clock += 10_000;
        FileTime t = FileTime.fromMillis(clock);
        Files.setLastModifiedTime(to, t);
        return t;
    }

    private BigInteger serial(String file) throws Exception {
        return ((X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve(file))))).getSerialNumber();
    }

    private TlsCertificates load() {
        TlsCertificates t = new TlsCertificates(cert, key, "mx.test", List.of("TLSv1.3", "TLSv1.2"));
        assertTrue(t.available());
        return t;
    }

    @Test
    public void aKeyThatCouldNotBeReadIsRetriedWhenOnlyItsCtimeChanges() throws Exception {
        TlsCertificates t = load();
        install("b.crt", cert);
        FileTime kt = install("a.crt", key); // not a key: stands in for a key the service user cannot read yet
        for (int i = 0; i < 3; i++) {
            t.reloadIfChanged();
        }
        assertEquals("the previous pair stays in use", serial("a.crt"), t.certificate().getSerialNumber());
        // chmod/chown fixes it: the content becomes readable, the modification time does not change
        Files.copy(dir.resolve("b.key"), key, StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(key, kt);
        t.reloadIfChanged();
        assertEquals("retried at the next poll", serial("b.crt"), t.certificate().getSerialNumber());
    }

    @Test
    public void aKeyOfAnotherCertificateIsNeverSwappedIn() throws Exception {
        TlsCertificates t = load();
        assertEquals(serial("a.crt"), t.certificate().getSerialNumber());
        install("b.crt", cert); // a renewal caught half-way: new certificate, old key
        for (int i = 0; i < 4; i++) {
            t.reloadIfChanged();
            assertEquals("poll " + i, serial("a.crt"), t.certificate().getSerialNumber());
        }
        install("b.key", key);
        t.reloadIfChanged();
        assertEquals("not while a file just changed", serial("a.crt"), t.certificate().getSerialNumber());
        t.reloadIfChanged();
        assertEquals("both unchanged for one poll: the new pair", serial("b.crt"), t.certificate().getSerialNumber());
        assertNotNull(t.newHandler(ByteBufAllocator.DEFAULT));
    }

    @Test
    public void aNewPairIsLoadedOnlyAfterItsFilesStayedUnchangedForOnePoll() throws Exception {
        TlsCertificates t = load();
        install("b.key", key);
        install("b.crt", cert);
        t.reloadIfChanged();
        assertEquals(serial("a.crt"), t.certificate().getSerialNumber());
        t.reloadIfChanged();
        assertEquals(serial("b.crt"), t.certificate().getSerialNumber());
    }

    @Test
    public void onlyForwardSecretAeadSuitesAreEnabled() throws Exception {
        TlsCertificates t = load();
        String[] suites = t.newHandler(ByteBufAllocator.DEFAULT).engine().getEnabledCipherSuites();
        List<String> l = Arrays.asList(suites);
        assertTrue(l.toString(), l.contains("TLS_AES_128_GCM_SHA256"));
        assertTrue(l.toString(), l.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        for (String s : suites) {
            boolean tls13 = !s.contains("_WITH_");
            assertTrue(s, tls13 || s.startsWith("TLS_ECDHE_"));
            assertTrue(s, s.contains("_GCM_") || s.contains("CHACHA20_POLY1305"));
            assertFalse(s, s.contains("CBC"));
        }
        assertFalse(l.contains("TLS_RSA_WITH_AES_128_GCM_SHA256"));
    }
}
