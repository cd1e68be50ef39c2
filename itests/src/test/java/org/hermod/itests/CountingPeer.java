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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A real SMTP destination that watches how it is sent to: which client address and EHLO name each connection came
 * from, how many messages (to which domains) each connection carried, the most connections open at once, overall
 * and per client address, and when each message arrived (and from where). RCPT replies come from a function that a test
 * may switch at any time.
 */
public final class CountingPeer implements Closeable {

    /** One connection as the peer saw it. */
    public static final class Connection {
        public final String client;
        public volatile String ehlo;
        public final List<String> recipients = new CopyOnWriteArrayList<>();
        public final AtomicInteger messages = new AtomicInteger();

        Connection(String client) {
            this.client = client;
        }

        /** The distinct recipient domains of the messages accepted over this connection. */
        public long domains() {
            return recipients.stream().map(r -> r.substring(r.indexOf('@') + 1)).distinct().count();
        }
    }

    /**
     * One accepted message as the peer saw it: when its end of data arrived (before any {@link #dataDelay}), from which
     * client address, for which recipients.
     *
     * @param nanos {@link System#nanoTime()} at the end of the message's data
     * @param client the client's address
     * @param recipients the accepted recipients of the message
     */
    public record Arrival(long nanos, String client, List<String> recipients) {
    }

    private final ServerSocket server;
    private final List<Arrival> arrivals = new CopyOnWriteArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> openByClient = new ConcurrentHashMap<>();
    private final Map<String, Integer> maxByClient = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger maxOpen = new AtomicInteger();
    private final AtomicInteger accepted = new AtomicInteger();
    private volatile Function<String, String> rcptReply = r -> "250 2.1.5 Ok";
    private volatile long dataDelayMillis;

    public CountingPeer(String host, int port) throws IOException {
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(host), port), 200);
        pool.submit(this::acceptLoop);
    }

    /** From now on, RCPT TO (address) is answered with this reply line. */
    public void answerRcpt(Function<String, String> reply) {
        this.rcptReply = reply;
    }

    /** A slow destination: this pause before answering each message's end of data. */
    public void dataDelay(long millis) {
        this.dataDelayMillis = millis;
    }

    public List<Connection> connections() {
        return new ArrayList<>(connections);
    }

    public int accepted() {
        return accepted.get();
    }

    /** Every accepted message in the order it arrived. */
    public List<Arrival> arrivals() {
        return new ArrayList<>(arrivals);
    }

    public int maxOpen() {
        return maxOpen.get();
    }

    public Map<String, Integer> maxOpenByClient() {
        return Map.copyOf(maxByClient);
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
        String client = s.getInetAddress().getHostAddress();
        Connection c = new Connection(client);
        connections.add(c);
        maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
        int mine = openByClient.computeIfAbsent(client, k -> new AtomicInteger()).incrementAndGet();
        maxByClient.merge(client, mine, Math::max);
        try (s) {
            s.setSoTimeout(60000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            write(out, "220 site.test ESMTP counting peer");
            List<String> rcpts = new ArrayList<>();
            String line;
            while ((line = in.readLine()) != null) {
                String u = line.toUpperCase();
                if (u.startsWith("EHLO") || u.startsWith("HELO")) {
                    c.ehlo = line.substring(4).trim();
                    write(out, u.startsWith("EHLO") ? "250-site.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES"
                            : "250 site.test");
                } else if (u.startsWith("MAIL FROM:")) {
                    rcpts.clear();
                    write(out, "250 2.1.0 Ok");
                } else if (u.startsWith("RCPT TO:")) {
                    String r = line.substring(8).trim().replaceAll("^<|>.*$", "");
                    String reply = rcptReply.apply(r);
                    if (reply.startsWith("2")) {
                        rcpts.add(r);
                    }
                    write(out, reply);
                } else if (u.equals("DATA")) {
                    if (rcpts.isEmpty()) {
                        write(out, "554 5.5.1 No valid recipients");
                        continue;
                    }
                    write(out, "354 go ahead");
                    while ((line = in.readLine()) != null && !line.equals(".")) {
                        // the content is not kept
                    }
                    long arrived = System.nanoTime();
                    if (dataDelayMillis > 0) {
                        try {
                            Thread.sleep(dataDelayMillis); // deliberate: a slow destination, so connections pile up
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    c.recipients.addAll(rcpts);
                    c.messages.incrementAndGet();
                    arrivals.add(new Arrival(arrived, client, List.copyOf(rcpts)));
                    accepted.addAndGet(rcpts.size());
                    write(out, "250 2.0.0 Ok: accepted");
                } else if (u.equals("RSET")) {
                    rcpts.clear();
                    write(out, "250 2.0.0 Ok");
                } else if (u.equals("QUIT")) {
                    write(out, "221 2.0.0 Bye");
                    return;
                } else {
                    write(out, "250 2.0.0 Ok");
                }
            }
        } catch (IOException e) {
            // the client went away
        } finally {
            open.decrementAndGet();
            openByClient.get(client).decrementAndGet();
        }
    }

    private static void write(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}
