package org.hermod.itests;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Test certificates made with {@code openssl} (Debian package openssl) as PEM files: a CA, server certificates it signs
 * for given DNS names, and self-signed ones (for DANE-EE). Python's ssl and Java's TLS both read them.
 */
final class PemCerts {

    private final Path dir;
    private final String openssl;

    /** The CA in {@code dir} ({@code ca.pem}, {@code ca.key}), made when {@code create}. */
    PemCerts(Path dir, boolean create) throws Exception {
        this.dir = dir;
        this.openssl = ExternalTool.OPENSSL.require();
        if (!create) {
            return;
        }
        Files.createDirectories(dir);
        run(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", dir.resolve("ca.key").toString(), "-out", ca().toString(), "-days", "2",
                "-subj", "/CN=Hermod Outbound TLS Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    /** The CA certificate (PEM). */
    Path ca() {
        return dir.resolve("ca.pem");
    }

    /** The pair {@code <base>.pem}/{@code <base>.key} made earlier. */
    Pair pair(String base) {
        return new Pair(dir.resolve(base + ".pem"), dir.resolve(base + ".key"));
    }

    /** A certificate and its key (PEM files). */
    record Pair(Path cert, Path key) {

        /** A server TLS context presenting this certificate. */
        SSLContext serverContext() throws Exception {
            List<Certificate> chain = new ArrayList<>(CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(cert))));
            String pem = Files.readString(key, StandardCharsets.US_ASCII);
            byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
            PrivateKey k = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("k", k, "x".toCharArray(), chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "x".toCharArray());
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        }

        /** The hex SHA-256 of the certificate's SubjectPublicKeyInfo (a TLSA 3 1 1 / 2 1 1 record's data). */
        String spkiSha256() throws Exception {
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(cert)));
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getPublicKey().getEncoded()));
        }
    }

    /** A server certificate for the DNS names, signed by the CA, in {@code <base>.pem} and {@code <base>.key}. */
    Pair issue(String base, String... names) throws Exception {
        Path key = dir.resolve(base + ".key");
        Path csr = dir.resolve(base + ".csr");
        Path crt = dir.resolve(base + ".pem");
        Path ext = dir.resolve(base + ".ext");
        StringBuilder san = new StringBuilder("subjectAltName=");
        for (int i = 0; i < names.length; i++) {
            san.append(i == 0 ? "" : ",").append("DNS:").append(names[i]);
        }
        Files.writeString(ext, san + "\nextendedKeyUsage=serverAuth\n");
        run(openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                key.toString(), "-out", csr.toString(), "-subj", "/CN=" + names[0]);
        run(openssl, "x509", "-req", "-in", csr.toString(), "-CA", ca().toString(), "-CAkey",
                dir.resolve("ca.key").toString(), "-CAcreateserial", "-days", "2", "-out", crt.toString(),
                "-extfile", ext.toString());
        return new Pair(crt, key);
    }

    /** A self-signed certificate (no CA vouches for it: only DANE-EE can authenticate it) in {@code <base>.pem/.key}. */
    Pair selfSigned(String base, String name) throws Exception {
        Path key = dir.resolve(base + ".key");
        Path crt = dir.resolve(base + ".pem");
        run(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                key.toString(), "-out", crt.toString(), "-days", "2", "-subj", "/CN=" + name);
        return new Pair(crt, key);
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
