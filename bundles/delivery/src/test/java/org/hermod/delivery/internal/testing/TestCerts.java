package org.hermod.delivery.internal.testing;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Real certificates for TLS tests, made with the JDK's keytool (no extra libraries): a CA, and server certificates it
 * signs for given DNS names (subject alternative names), each with its key in a PKCS#12 store.
 */
public final class TestCerts {

    private static final String PASS = "changeit";

    /** A test CA. */
    public static final class Ca {
        private final Path dir;
        private final Path store;
        private final X509Certificate cert;
        private int issued;

        private Ca(Path dir, Path store, X509Certificate cert) {
            this.dir = dir;
            this.store = store;
            this.cert = cert;
        }

        public X509Certificate cert() {
            return cert;
        }

        /** The CA certificate as a PEM file. */
        public Path pem() throws Exception {
            Path f = dir.resolve("ca.pem");
            Files.writeString(f, TestCerts.pem(cert));
            return f;
        }

        /** A server certificate for the DNS names (the first is also the CN), signed by this CA. */
        public synchronized Server issue(String... names) throws Exception {
            String alias = "srv" + (++issued);
            Path ks = dir.resolve(alias + ".p12");
            keytool("-genkeypair", "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                    "CN=" + names[0], "-validity", "3", "-storetype", "PKCS12", "-keystore", ks.toString(),
                    "-storepass", PASS, "-keypass", PASS);
            Path csr = dir.resolve(alias + ".csr");
            keytool("-certreq", "-alias", alias, "-keystore", ks.toString(), "-storepass", PASS, "-file", csr.toString());
            Path crt = dir.resolve(alias + ".crt");
            StringBuilder san = new StringBuilder("SAN=");
            for (int i = 0; i < names.length; i++) {
                san.append(i == 0 ? "" : ",").append("dns:").append(names[i]);
            }
            keytool("-gencert", "-alias", "ca", "-keystore", store.toString(), "-storepass", PASS, "-infile",
                    csr.toString(), "-outfile", crt.toString(), "-rfc", "-validity", "3", "-ext", san.toString());
            Path caCrt = pem();
            keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCrt.toString(), "-keystore", ks.toString(),
                    "-storepass", PASS);
            keytool("-importcert", "-alias", alias, "-file", crt.toString(), "-keystore", ks.toString(), "-storepass",
                    PASS, "-keypass", PASS);
            KeyStore k = KeyStore.getInstance("PKCS12");
            try (FileInputStream in = new FileInputStream(ks.toFile())) {
                k.load(in, PASS.toCharArray());
            }
            Certificate[] chain = k.getCertificateChain(alias);
            X509Certificate[] x = new X509Certificate[chain.length];
            for (int i = 0; i < chain.length; i++) {
                x[i] = (X509Certificate) chain[i];
            }
            return new Server(k, x);
        }
    }

    /** A server certificate chain (leaf first, then the CA) with its key. */
    public record Server(KeyStore store, X509Certificate[] chain) {

        /** A server-side TLS context presenting this chain. */
        public SSLContext context() throws Exception {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, PASS.toCharArray());
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        }

        public X509Certificate leaf() {
            return chain[0];
        }
    }

    /** A new CA in a fresh temporary directory. */
    public static Ca ca(String name) throws Exception {
        Path dir = Files.createTempDirectory("hermod-certs");
        dir.toFile().deleteOnExit();
        Path store = dir.resolve("ca.p12");
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + name,
                "-ext", "bc:c", "-validity", "3", "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", PASS, "-keypass", PASS);
        KeyStore k = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(store.toFile())) {
            k.load(in, PASS.toCharArray());
        }
        return new Ca(dir, store, (X509Certificate) k.getCertificate("ca"));
    }

    public static String pem(X509Certificate c) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(c.getEncoded()) + "\n-----END CERTIFICATE-----\n";
    }

    public static List<X509Certificate> parse(String pem) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "keytool");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool " + String.join(" ", args) + " failed: " + out);
        }
    }

    private TestCerts() {
    }
}
