package org.hermod.itests;

import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real HTTPS server (Python's http.server with ssl, package python3) on 127.0.0.1 serving MTA-STS policies: a
 * request for {@code https://mta-sts.<domain>/.well-known/mta-sts.txt} gets the file {@code <dir>/mta-sts.<domain>.txt}
 * as text/plain (chosen by the Host header), anything else 404. The certificate is the given PEM pair.
 */
final class MtaStsWebServer implements Closeable {

    private static final String SCRIPT = String.join("\n",
            "import http.server, ssl, sys, os",
            "cert, key, port, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]",
            "class H(http.server.BaseHTTPRequestHandler):",
            "    protocol_version = 'HTTP/1.1'",
            "    def do_GET(self):",
            "        host = (self.headers.get('Host') or '').split(':')[0].lower()",
            "        f = os.path.join(root, host + '.txt')",
            "        if self.path != '/.well-known/mta-sts.txt' or '/' in host or not os.path.isfile(f):",
            "            self.send_response(404); self.send_header('Content-Length', '0'); self.end_headers(); return",
            "        body = open(f, 'rb').read()",
            "        with open(os.path.join(root, 'fetches.log'), 'a') as log: log.write(host + '\\n')",
            "        self.send_response(200)",
            "        self.send_header('Content-Type', 'text/plain')",
            "        self.send_header('Content-Length', str(len(body)))",
            "        self.send_header('Connection', 'close')",
            "        self.end_headers()",
            "        self.wfile.write(body)",
            "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)",
            "ctx.load_cert_chain(cert, key)",
            "srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)",
            "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)",
            "srv.serve_forever()",
            "");

    private final ChildProcess process;
    private final Path dir;

    MtaStsWebServer(Path dir, int port, PemCerts.Pair cert) throws Exception {
        this.dir = dir;
        Files.createDirectories(dir);
        Path script = dir.resolve("mta_sts_server.py");
        Files.writeString(script, SCRIPT);
        process = ChildProcess.start(List.of(ExternalTool.PYTHON3.require(), script.toString(), cert.cert().toString(),
                cert.key().toString(), String.valueOf(port), dir.toString()));
        Await.until("the MTA-STS web server listens on " + port, 20, () -> {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return true;
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    /** Publishes (or replaces) the policy of a domain. */
    void policy(String domain, String text) throws Exception {
        Files.writeString(dir.resolve("mta-sts." + domain + ".txt"), text);
    }

    /** The hosts whose policy was fetched, in order. */
    List<String> fetches() throws Exception {
        Path log = dir.resolve("fetches.log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    @Override
    public void close() {
        process.stop();
    }
}
