package org.hermod.itests;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A real SMTP destination that offers STARTTLS with a given certificate (or no STARTTLS when it has none) and records
 * each accepted message with whether it came over TLS and which server name (SNI) the client asked for.
 */
final class StartTlsSink implements Closeable {

    /** One accepted message. */
    record Received(List<String> recipients, boolean tls, String sni) {
    }

    private final ServerSocket server;
    private final SSLContext tls;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<Received> received = new CopyOnWriteArrayList<>();

    /** @param tls the certificate to present after STARTTLS, or null to offer no STARTTLS */
    StartTlsSink(String host, int port, SSLContext tls) throws IOException {
        this.tls = tls;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(host), port), 50);
        pool.submit(this::acceptLoop);
    }

    List<Received> received() {
        return List.copyOf(received);
    }

    /** Whether a message for this recipient arrived. */
    Received messageFor(String rcpt) {
        for (Received r : received) {
            if (r.recipients().contains(rcpt)) {
                return r;
            }
        }
        return null;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                pool.submit(() -> session(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void session(Socket plain) {
        Socket s = plain;
        String sni = null;
        try {
            s.setSoTimeout(30_000);
            BufferedReader in = reader(s);
            OutputStream out = s.getOutputStream();
            write(out, "220 sink.test ESMTP");
            boolean secure = false;
            List<String> rcpts = new ArrayList<>();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String u = line.toUpperCase(java.util.Locale.ROOT);
                if (u.startsWith("EHLO")) {
                    write(out, "250-sink.test" + (tls != null && !secure ? "\r\n250-STARTTLS" : "") + "\r\n250 8BITMIME");
                } else if (u.equals("STARTTLS") && tls != null && !secure) {
                    write(out, "220 2.0.0 go ahead");
                    SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s, null, s.getPort(), true);
                    ssl.setUseClientMode(false);
                    ssl.startHandshake();
                    var names = ((javax.net.ssl.ExtendedSSLSession) ssl.getSession()).getRequestedServerNames();
                    sni = names.isEmpty() ? null : ((javax.net.ssl.SNIHostName) names.get(0)).getAsciiName();
                    s = ssl;
                    in = reader(s);
                    out = s.getOutputStream();
                    secure = true;
                } else if (u.startsWith("MAIL")) {
                    rcpts = new ArrayList<>();
                    write(out, "250 2.1.0 Ok");
                } else if (u.startsWith("RCPT")) {
                    rcpts.add(line.substring(line.indexOf('<') + 1, line.lastIndexOf('>')));
                    write(out, "250 2.1.5 Ok");
                } else if (u.equals("DATA")) {
                    write(out, "354 go");
                    for (String l = in.readLine(); l != null && !l.equals("."); l = in.readLine()) {
                        // the body is not kept
                    }
                    received.add(new Received(List.copyOf(rcpts), secure, sni));
                    write(out, "250 2.0.0 Ok: queued");
                } else if (u.equals("QUIT")) {
                    write(out, "221 2.0.0 Bye");
                    break;
                } else if (u.equals("RSET") || u.equals("NOOP")) {
                    write(out, "250 2.0.0 Ok");
                } else {
                    write(out, "502 5.5.2 not here");
                }
            }
        } catch (IOException e) {
            // the client went away or the handshake failed: nothing was accepted on this connection
        } finally {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private static BufferedReader reader(Socket s) throws IOException {
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
    }

    private static void write(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}
