package org.hermod.delivery.internal.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A small scriptable SMTP server on a real loopback socket, one thread per connection, replying line by line (so it
 * also serves pipelining clients). It records every transaction and every command line.
 */
public final class TestSmtpServer implements AutoCloseable {

    /** One received message. */
    public record Received(String mailFrom, List<String> rcpts, byte[] data, int connection, boolean tls) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    public final LinkedBlockingQueue<Received> received = new LinkedBlockingQueue<>();
    public final List<String> commands = new CopyOnWriteArrayList<>();
    public final AtomicInteger connections = new AtomicInteger();
    /** Reply per RCPT address (lower case), e.g. "550 5.1.1 no such user". */
    public final Map<String, String> rcptReplies = new ConcurrentHashMap<>();
    public volatile String greeting = "220 test.peer ESMTP ready";
    public volatile List<String> extensions = List.of("PIPELINING", "8BITMIME", "SIZE 10000000", "ENHANCEDSTATUSCODES");
    public volatile boolean ehloRefused;
    public volatile String mailReply = "250 2.1.0 ok";
    public volatile String dataEndReply = "250 2.0.0 queued";
    public volatile SSLContext tls;

    public TestSmtpServer() throws IOException {
        this(InetAddress.getLoopbackAddress(), 0);
    }

    public TestSmtpServer(InetAddress bind, int port) throws IOException {
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(bind, port));
        acceptor = new Thread(this::accept, "test-smtp-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    public Received next(long seconds) throws InterruptedException {
        return received.poll(seconds, TimeUnit.SECONDS);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                int n = connections.incrementAndGet();
                Thread t = new Thread(() -> session(s, n), "test-smtp-" + n);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void session(Socket socket, int n) {
        Socket s = socket;
        try {
            s.setSoTimeout(20_000);
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            reply(out, greeting);
            if (!greeting.startsWith("220")) {
                readLine(in);
                return;
            }
            String from = null;
            List<String> rcpts = new ArrayList<>();
            boolean isTls = false;
            String line;
            while ((line = readLine(in)) != null) {
                commands.add(line);
                String u = line.toUpperCase(Locale.ROOT);
                if (u.startsWith("EHLO")) {
                    if (ehloRefused) {
                        reply(out, "502 5.5.2 EHLO not supported");
                        continue;
                    }
                    List<String> ext = new ArrayList<>(extensions);
                    if (tls != null && !isTls) {
                        ext.add("STARTTLS");
                    }
                    StringBuilder sb = new StringBuilder("250");
                    sb.append(ext.isEmpty() ? " " : "-").append("test.peer hello\r\n");
                    for (int i = 0; i < ext.size(); i++) {
                        sb.append("250").append(i == ext.size() - 1 ? " " : "-").append(ext.get(i)).append("\r\n");
                    }
                    out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } else if (u.startsWith("HELO")) {
                    reply(out, "250 test.peer");
                } else if (u.equals("STARTTLS") && tls != null && !isTls) {
                    reply(out, "220 2.0.0 go ahead");
                    SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s, null, s.getPort(), true);
                    ssl.setUseClientMode(false);
                    ssl.startHandshake();
                    s = ssl;
                    in = new java.io.BufferedInputStream(ssl.getInputStream());
                    out = ssl.getOutputStream();
                    isTls = true;
                    from = null;
                    rcpts.clear();
                } else if (u.startsWith("MAIL FROM:")) {
                    if (mailReply.startsWith("2")) {
                        from = line.substring(10);
                        rcpts.clear();
                    }
                    reply(out, mailReply);
                } else if (u.startsWith("RCPT TO:")) {
                    String addr = line.substring(8);
                    int gt = addr.indexOf('>');
                    String bare = addr.substring(1, gt).toLowerCase(Locale.ROOT);
                    String r = rcptReplies.getOrDefault(bare, "250 2.1.5 ok");
                    if (from == null) {
                        r = "503 5.5.1 need MAIL first";
                    }
                    if (r.startsWith("2")) {
                        rcpts.add(bare);
                    }
                    reply(out, r);
                } else if (u.equals("DATA")) {
                    if (rcpts.isEmpty()) {
                        reply(out, "554 5.5.1 no valid recipients");
                        continue;
                    }
                    reply(out, "354 go ahead");
                    ByteArrayOutputStream data = new ByteArrayOutputStream();
                    String l;
                    while ((l = readRaw(in)) != null) {
                        if (l.equals(".\r\n")) {
                            break;
                        }
                        byte[] b = l.getBytes(StandardCharsets.ISO_8859_1);
                        int off = b.length > 0 && b[0] == '.' ? 1 : 0;
                        data.write(b, off, b.length - off);
                    }
                    received.add(new Received(from, List.copyOf(rcpts), data.toByteArray(), n, isTls));
                    from = null;
                    rcpts.clear();
                    if (dataEndReply != null) { // null: never answer the final dot
                        reply(out, dataEndReply);
                    }
                } else if (u.equals("RSET")) {
                    from = null;
                    rcpts.clear();
                    reply(out, "250 2.0.0 ok");
                } else if (u.equals("QUIT")) {
                    reply(out, "221 2.0.0 bye");
                    return;
                } else if (u.equals("NOOP")) {
                    reply(out, "250 2.0.0 ok");
                } else {
                    reply(out, "500 5.5.2 unknown command");
                }
            }
        } catch (IOException e) {
            // connection ended
        } finally {
            try {
                s.close();
            } catch (IOException ignored) {
                // done
            }
        }
    }

    private static void reply(OutputStream out, String r) throws IOException {
        out.write((r + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** A line without its CRLF (UTF-8), or null at EOF. */
    private static String readLine(InputStream in) throws IOException {
        String raw = readRaw(in);
        if (raw == null) {
            return null;
        }
        byte[] b = raw.getBytes(StandardCharsets.ISO_8859_1);
        int len = b.length;
        while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == '\r')) {
            len--;
        }
        return new String(b, 0, len, StandardCharsets.UTF_8);
    }

    /** A line including its line end, bytes as ISO-8859-1 chars, or null at EOF. */
    private static String readRaw(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            b.write(c);
            if (c == '\n') {
                break;
            }
        }
        if (b.size() == 0) {
            return null;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
