package org.hermod.dkim.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Arrays;
import java.util.Base64;

/** Key pairs made for a test, written as PKCS#8 PEM files; their DNS records built from the public half. */
final class TestKeys {

    private TestKeys() {
    }

    static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    static KeyPair ed25519() throws Exception {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }

    /** Writes the private key as openssl genpkey does. */
    static Path write(KeyPair pair, Path file) throws Exception {
        Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pair.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return file;
    }

    /** The TXT record for the public key, from the key pair (not from the code under test). */
    static String record(KeyPair pair) {
        byte[] spki = pair.getPublic().getEncoded();
        if (pair.getPublic().getAlgorithm().equals("RSA")) {
            return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(spki);
        }
        return "v=DKIM1; k=ed25519; p="
                + Base64.getEncoder().encodeToString(Arrays.copyOfRange(spki, spki.length - 32, spki.length));
    }
}
