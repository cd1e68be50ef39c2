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
import java.util.function.BiFunction;

/**
 * A small real SMTP server on a socket, for the destination side of delivery tests: it answers each RCPT with a reply
 * chosen by a function (so a test can refuse some recipients, or defer a first attempt) and records every message.
 */
public final class SmtpPeer implements Closeable {

    /** One received transaction. */
    public record Received(String mailFrom, List<String> rcptTo, String data) {
    }

    private final ServerSocket server;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final BiFunction<String, Integer, String> rcptReply;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final long delayMillis;
    private volatile int rcptCount;

    /**
     * @param rcptReply (recipient, how many RCPTs this peer has seen before) -> reply line, e.g. "250 2.1.5 Ok"
     * @param delayMillis pause before answering the end of data (a slow destination)
     */
    public SmtpPeer(String host, int port, BiFunction<String, Integer, String> rcptReply, long delayMillis)
            throws IOException {
        this.rcptReply = rcptReply;
        this.delayMillis = delayMillis;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(host), port), 100);
        pool.submit(this::acceptLoop);
    }

    public List<Received> received() {
        return new ArrayList<>(received);
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

    private void session(Socket s) {
        try (s) {
            s.setSoTimeout(60000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            write(out, "220 peer.test ESMTP test peer");
            String from = null;
            List<String> rcpts = new ArrayList<>();
            String line;
            while ((line = in.readLine()) != null) {
                String u = line.toUpperCase();
                if (u.startsWith("EHLO")) {
                    write(out, "250-peer.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES");
                } else if (u.startsWith("HELO")) {
                    write(out, "250 peer.test");
                } else if (u.startsWith("MAIL FROM:")) {
                    from = path(line.substring(10));
                    rcpts.clear();
                    write(out, "250 2.1.0 Ok");
                } else if (u.startsWith("RCPT TO:")) {
                    String r = path(line.substring(8));
                    String reply;
                    synchronized (this) {
                        reply = rcptReply.apply(r, rcptCount++);
                    }
                    if (reply.startsWith("250")) {
                        rcpts.add(r);
                    }
                    write(out, reply);
                } else if (u.equals("DATA")) {
                    if (rcpts.isEmpty()) {
                        write(out, "554 5.5.1 no valid recipients");
                        continue;
                    }
                    write(out, "354 go ahead");
                    StringBuilder data = new StringBuilder();
                    while ((line = in.readLine()) != null && !line.equals(".")) {
                        data.append(line.startsWith("..") ? line.substring(1) : line).append("\r\n");
                    }
                    if (delayMillis > 0) {
                        Thread.sleep(delayMillis); // deliberate: a slow destination, as configured by the test
                    }
                    received.add(new Received(from, List.copyOf(rcpts), data.toString()));
                    write(out, "250 2.0.0 Ok: accepted");
                } else if (u.equals("RSET")) {
                    rcpts.clear();
                    write(out, "250 2.0.0 Ok");
                } else if (u.equals("NOOP")) {
                    write(out, "250 2.0.0 Ok");
                } else if (u.equals("QUIT")) {
                    write(out, "221 2.0.0 Bye");
                    return;
                } else {
                    write(out, "502 5.5.2 not implemented");
                }
            }
        } catch (IOException | InterruptedException e) {
            // client went away
        }
    }

    private static String path(String s) {
        String t = s.trim();
        int lt = t.indexOf('<');
        int gt = t.indexOf('>');
        return lt >= 0 && gt > lt ? t.substring(lt + 1, gt) : t;
    }

    private static void write(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}
