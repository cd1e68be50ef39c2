package org.hermod.dkim.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyPair;
import java.util.List;

import org.junit.Test;

/** Key files reloaded when they change: rotation, a broken edit, a key that appears later. */
public class KeyRingTest {

    private static void touch(Path f, long plusMillis) throws Exception {
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + plusMillis));
    }

    @Test
    public void aReplacedKeyIsUsedOnceItStayedTheSameForOneCheck() throws Exception {
        Path dir = Files.createTempDirectory("keyring");
        KeyPair first = TestKeys.ed25519();
        KeyPair second = TestKeys.ed25519();
        Path f = TestKeys.write(first, dir.resolve("k.pem"));
        KeyRing ring = new KeyRing();
        ring.configure(SignatureEntry.parse("example.com s ed25519-sha256 k.pem", dir));
        assertEquals(TestKeys.record(first), ring.forDomain("example.com").get(0).key().dnsRecord());

        TestKeys.write(second, f);
        touch(f, 5000);
        ring.checkForChanges(); // seen changed: not loaded yet (it may still be being written)
        assertEquals(TestKeys.record(first), ring.forDomain("example.com").get(0).key().dnsRecord());
        ring.checkForChanges(); // unchanged since: loaded
        assertEquals(TestKeys.record(second), ring.forDomain("example.com").get(0).key().dnsRecord());

        Files.writeString(f, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
        touch(f, 10000);
        ring.checkForChanges();
        ring.checkForChanges();
        KeyRing.Slot s = ring.forDomain("example.com").get(0);
        assertTrue("a broken edit keeps the key loaded before", s.usable());
        assertEquals(TestKeys.record(second), s.key().dnsRecord());
        assertTrue(s.error(), s.error() != null);
    }

    @Test
    public void aMissingKeyIsUnusableUntilItAppears() throws Exception {
        Path dir = Files.createTempDirectory("keyring");
        KeyRing ring = new KeyRing();
        ring.configure(SignatureEntry.parse("example.com r rsa-sha256 later.pem", dir));
        List<KeyRing.Slot> slots = ring.forDomain("mail.example.com");
        assertEquals(1, slots.size());
        assertFalse(slots.get(0).usable());
        assertEquals("no such file", slots.get(0).error());

        KeyPair k = TestKeys.rsa();
        TestKeys.write(k, dir.resolve("later.pem"));
        ring.checkForChanges();
        ring.checkForChanges();
        assertTrue(ring.forDomain("example.com").get(0).usable());
        assertEquals(TestKeys.record(k), ring.forDomain("example.com").get(0).key().dnsRecord());
    }

    @Test
    public void aConfigurationChangeKeepsLoadedKeysAndAKeyDeletedLaterStaysInUse() throws Exception {
        Path dir = Files.createTempDirectory("keyring");
        KeyPair k = TestKeys.ed25519();
        Path f = TestKeys.write(k, dir.resolve("k.pem"));
        KeyRing ring = new KeyRing();
        ring.configure(SignatureEntry.parse("example.com s ed25519-sha256 k.pem", dir));
        KeyRing.Slot first = ring.forDomain("example.com").get(0);
        ring.configure(SignatureEntry.parse("example.com s ed25519-sha256 k.pem; example.org t rsa-sha256 x.pem", dir));
        assertTrue("an unchanged entry keeps its slot", first == ring.forDomain("example.com").get(0));
        assertFalse(ring.forDomain("example.org").get(0).usable());

        Files.delete(f);
        ring.configure(SignatureEntry.parse("example.com s ed25519-sha256 k.pem", dir));
        KeyRing.Slot s = ring.forDomain("example.com").get(0);
        assertTrue(s.usable());
        assertEquals(TestKeys.record(k), s.key().dnsRecord());
        assertEquals("no such file", s.error());
        assertTrue(ring.forDomain("example.org").isEmpty());
    }

    @Test
    public void configurationErrorsNameTheEntry() {
        Path dir = Path.of("/tmp");
        for (String bad : new String[] {"example.com s rsa-sha256", "example.com s dsa k.pem",
                "nodot s rsa-sha256 k.pem", "example.com s_1 rsa-sha256 k.pem"}) {
            try {
                SignatureEntry.parse(bad, dir);
                throw new AssertionError("accepted: " + bad);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().contains(bad.split(" ")[1])
                        || expected.getMessage().contains("dsa"));
            }
        }
        assertEquals(2, SignatureEntry.parse(" example.com a rsa k1.pem ;; Example.COM. b ed25519 /x/k2.pem ", dir)
                .size());
        assertEquals(Path.of("/x/k2.pem"), SignatureEntry.parse("example.com b ed25519 /x/k2.pem", dir).get(0)
                .keyFile());
    }

    @Test
    public void pkcs1AndEncryptedKeysAreRefusedWithTheCommandThatConverts() {
        for (String pem : new String[] {"-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n",
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n"}) {
            try {
                PemKeys.parse(pem, DkimAlgorithm.RSA_SHA256);
                throw new AssertionError("accepted");
            } catch (java.security.GeneralSecurityException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"));
            }
        }
    }
}
