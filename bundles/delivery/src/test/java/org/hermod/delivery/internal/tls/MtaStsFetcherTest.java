package org.hermod.delivery.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.hermod.delivery.internal.testing.TestCerts;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/** Fetches over real HTTPS from a JDK web server on loopback with certificates from a test CA. */
public class MtaStsFetcherTest {

    private static TestCerts.Ca ca;
    private static HttpsServer good;
    private static HttpsServer wrongName;
    private static volatile int status = 200;
    private static volatile String type = "text/plain";
    private static volatile byte[] body;
    private static volatile String location;

    @BeforeClass
    public static void servers() throws Exception {
        ca = TestCerts.ca("Hermod Test CA");
        good = server(ca.issue("mta-sts.a.test"));
        wrongName = server(ca.issue("www.other.test"));
    }

    private static HttpsServer server(TestCerts.Server cert) throws Exception {
        HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        s.setHttpsConfigurator(new HttpsConfigurator(cert.context()));
        s.createContext("/.well-known/mta-sts.txt", ex -> {
            ex.getResponseHeaders().add("Content-Type", type);
            if (location != null) {
                ex.getResponseHeaders().add("Location", location);
            }
            byte[] b = body;
            ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        s.start();
        return s;
    }

    @AfterClass
    public static void stop() {
        good.stop(0);
        wrongName.stop(0);
    }

    private static MtaStsFetcher fetcher(HttpsServer s, CertChecks trust) throws Exception {
        return new MtaStsFetcher(trust.clientContext(), s.getAddress().getPort(), Duration.ofSeconds(5));
    }

    private static final List<InetAddress> LOOPBACK = List.of(InetAddress.getLoopbackAddress());

    @Test
    public void fetchesThePolicyFromATrustedServerNamedMtaStsDotDomain() throws Exception {
        reset("version: STSv1\r\nmode: enforce\r\nmx: mx.a.test\r\nmax_age: 86400\r\n");
        String text = fetcher(good, CertChecks.of(List.of(ca.cert()))).fetch("a.test", LOOPBACK);
        assertEquals(MtaStsPolicy.Mode.ENFORCE, MtaStsPolicy.parse(text).mode());
    }

    @Test
    public void anUntrustedOrMisnamedServerIsAWebPkiFailure() throws Exception {
        reset("version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n");
        // the JDK's trust store does not know the test CA
        MtaStsFetcher.FetchException e = assertThrows(MtaStsFetcher.FetchException.class,
                () -> fetcher(good, CertChecks.load("")).fetch("a.test", LOOPBACK));
        assertEquals("sts-webpki-invalid", e.type());
        // trusted CA, but the certificate is for www.other.test
        e = assertThrows(MtaStsFetcher.FetchException.class,
                () -> fetcher(wrongName, CertChecks.of(List.of(ca.cert()))).fetch("a.test", LOOPBACK));
        assertEquals("sts-webpki-invalid", e.type());
    }

    @Test
    public void redirectsErrorsWrongTypesAndOversizedBodiesAreRefused() throws Exception {
        CertChecks trust = CertChecks.of(List.of(ca.cert()));
        reset("moved");
        status = 301;
        location = "https://elsewhere.test/.well-known/mta-sts.txt";
        MtaStsFetcher.FetchException e = assertThrows(MtaStsFetcher.FetchException.class,
                () -> fetcher(good, trust).fetch("a.test", LOOPBACK));
        assertEquals("sts-policy-fetch-error", e.type());
        assertTrue(e.getMessage(), e.getMessage().contains("301") && e.getMessage().contains("redirects are not followed"));
        reset("nope");
        status = 404;
        e = assertThrows(MtaStsFetcher.FetchException.class, () -> fetcher(good, trust).fetch("a.test", LOOPBACK));
        assertTrue(e.getMessage(), e.getMessage().contains("404"));
        reset("version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n");
        type = "text/html";
        e = assertThrows(MtaStsFetcher.FetchException.class, () -> fetcher(good, trust).fetch("a.test", LOOPBACK));
        assertTrue(e.getMessage(), e.getMessage().contains("not text/plain"));
        reset("version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n" + "x: y\n".repeat(20_000));
        e = assertThrows(MtaStsFetcher.FetchException.class, () -> fetcher(good, trust).fetch("a.test", LOOPBACK));
        assertTrue(e.getMessage(), e.getMessage().contains("larger than 65536"));
    }

    @Test
    public void nothingListeningIsAFetchError() throws Exception {
        MtaStsFetcher f = new MtaStsFetcher(CertChecks.of(List.of(ca.cert())).clientContext(), freePort(),
                Duration.ofSeconds(2));
        MtaStsFetcher.FetchException e = assertThrows(MtaStsFetcher.FetchException.class,
                () -> f.fetch("a.test", LOOPBACK));
        assertEquals("sts-policy-fetch-error", e.type());
        e = assertThrows(MtaStsFetcher.FetchException.class, () -> f.fetch("a.test", List.of()));
        assertTrue(e.getMessage().contains("no address"));
    }

    @Test
    public void chunkedBodiesAreDecoded() throws Exception {
        String http = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "10\r\nversion: STSv1\r\n\r\n" + "e\r\nmode: testing\n\r\n" + "1b\r\nmx: *.a.test\nmax_age: 3600\n\r\n"
                + "0\r\n\r\n";
        String text = MtaStsFetcher.response("mta-sts.a.test",
                new java.io.ByteArrayInputStream(http.getBytes(StandardCharsets.US_ASCII)));
        MtaStsPolicy p = MtaStsPolicy.parse(text);
        assertEquals(MtaStsPolicy.Mode.TESTING, p.mode());
        assertEquals(List.of("*.a.test"), p.mx());
    }

    @Test(timeout = 10_000)
    public void endlessResponseHeadersAreCutOffAt16KiB() {
        byte[] start = "HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] pad = "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".getBytes(StandardCharsets.US_ASCII);
        java.io.InputStream endless = new java.io.InputStream() {
            private long i;

            @Override
            public int read() {
                long k = i++;
                return k < start.length ? start[(int) k] : pad[(int) ((k - start.length) % pad.length)];
            }
        };
        MtaStsFetcher.FetchException e = assertThrows(MtaStsFetcher.FetchException.class,
                () -> MtaStsFetcher.response("mta-sts.a.test", endless));
        assertTrue(e.getMessage(), e.getMessage().contains("response headers longer than 16384 bytes"));
    }

    @Test(timeout = 10_000)
    public void aServerAnsweringAByteAtATimeIsCutOffAtTwiceTheTimeout() throws Exception {
        // each byte comes well within the read timeout (1 s), the whole answer would take about 30 s
        byte[] answer = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n\r\n"
                + "version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n").getBytes(StandardCharsets.US_ASCII);
        javax.net.ssl.SSLServerSocket server = (javax.net.ssl.SSLServerSocket) ca.issue("mta-sts.a.test").context()
                .getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Thread drip = new Thread(() -> {
            try (java.net.Socket c = server.accept()) {
                c.getInputStream().read(new byte[4096]); // the handshake, then the request
                OutputStream out = c.getOutputStream();
                for (byte b : answer) {
                    out.write(b);
                    out.flush();
                    Thread.sleep(250);
                }
            } catch (Exception e) {
                // the fetcher hung up: what this test expects
            }
        }, "drip");
        drip.setDaemon(true);
        drip.start();
        try {
            MtaStsFetcher f = new MtaStsFetcher(CertChecks.of(List.of(ca.cert())).clientContext(),
                    server.getLocalPort(), Duration.ofSeconds(1));
            MtaStsFetcher.FetchException e = assertThrows(MtaStsFetcher.FetchException.class,
                    () -> f.fetch("a.test", LOOPBACK));
            assertEquals("sts-policy-fetch-error", e.type());
            assertTrue(e.getMessage(), e.getMessage().contains("no complete answer within 2000 ms"));
        } finally {
            server.close();
        }
    }

    private static void reset(String text) {
        status = 200;
        type = "text/plain";
        location = null;
        body = text.getBytes(StandardCharsets.UTF_8);
    }

    private static int freePort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
