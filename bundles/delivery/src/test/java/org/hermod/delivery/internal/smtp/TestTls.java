package org.hermod.delivery.internal.smtp;

import java.io.File;
import java.io.FileInputStream;
import java.security.KeyStore;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** A server-side TLS context with a self-signed key made by the JDK's keytool (no extra libraries). */
final class TestTls {

    private static SSLContext context;

    static synchronized SSLContext serverContext() throws Exception {
        if (context != null) {
            return context;
        }
        File ks = File.createTempFile("hermod-test", ".p12");
        ks.delete();
        ks.deleteOnExit();
        String keytool = System.getProperty("java.home") + "/bin/keytool";
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "peer", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=test.peer", "-validity", "2", "-storetype", "PKCS12", "-keystore", ks.getPath(),
                "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool failed");
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(ks)) {
            store.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        context = ctx;
        return ctx;
    }

    private TestTls() {
    }
}
