package org.hermod.itests;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A deliberately raw SMTP client for tests: it writes exactly the bytes it is given (so tests can send bare LFs,
 * pipelined batches and broken syntax) and reads complete, possibly multi-line replies.
 */
public final class SmtpTestClient implements Closeable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public SmtpTestClient(String host, int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 5000);
        socket.setSoTimeout(15000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Connects, retrying while the server is still starting. */
    public static SmtpTestClient connect(int port) throws Exception {
        IOException last = null;
        for (int i = 0; i < 150; i++) {
            try {
                return new SmtpTestClient("127.0.0.1", port);
            } catch (IOException e) {
                last = e;
                Thread.sleep(200); // polling interval while the listener comes up (bounded: 150 tries)
            }
        }
        throw last;
    }

    public void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Reads one reply (all its lines), e.g. "250-a\r\n250 b" as one string with CRLFs. */
    public String reply() throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            String line = line();
            if (line == null) {
                return sb.length() == 0 ? null : sb.toString();
            }
            sb.append(line);
            if (line.length() < 4 || line.charAt(3) != '-') {
                return sb.toString();
            }
            sb.append("\r\n");
        }
    }

    /** Reads n replies. */
    public List<String> replies(int n) throws IOException {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            r.add(reply());
        }
        return r;
    }

    public String command(String line) throws IOException {
        send(line + "\r\n");
        return reply();
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                byte[] a = b.toByteArray();
                int len = a.length > 0 && a[a.length - 1] == '\r' ? a.length - 1 : a.length;
                return new String(a, 0, len, StandardCharsets.UTF_8);
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
    }

    /** True when the server closed the connection. */
    public boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (IOException e) {
            return true;
        }
    }

    /** One whole transaction; returns the final reply to the data. */
    public String sendMail(String from, String to, String data) throws IOException {
        String r = command("MAIL FROM:<" + from + ">");
        if (!r.startsWith("250")) {
            return r;
        }
        r = command("RCPT TO:<" + to + ">");
        if (!r.startsWith("250")) {
            return r;
        }
        r = command("DATA");
        if (!r.startsWith("354")) {
            return r;
        }
        send(data + "\r\n.\r\n");
        return reply();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
