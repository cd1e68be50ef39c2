package org.hermod.bounce.internal.parse;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;
import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.dom.field.ContentTypeField;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.apache.james.mime4j.stream.Field;
import org.apache.james.mime4j.stream.MimeConfig;

/**
 * A flattened view of a message parsed with Mime4j in permissive mode: top-level headers and the leaf parts in order,
 * each with its content type and decoded text. Parts inside an attached original message are marked as such.
 */
final class MimeView {

    record Part(String mimeType, String text, boolean inAttachedMessage, boolean attachment) {
    }

    /** Longest line Mime4j accepts. */
    static final int MAX_LINE = 256 * 1024;
    /** Most leaf parts looked at. */
    static final int MAX_PARTS = 200;

    final Message message;
    final List<Part> parts = new ArrayList<>();
    String reportType;
    String topType;

    private MimeView(Message message) {
        this.message = message;
    }

    static MimeView parse(byte[] raw) throws IOException {
        // finite limits: the input is at most BounceParser.MAX_RAW bytes, and a hostile message must not make Mime4j
        // buffer without bound
        MimeConfig config = MimeConfig.custom().setMaxLineLen(MAX_LINE).setMaxHeaderLen(64 * 1024)
                .setMaxHeaderCount(1000).setMaxContentLen(BounceParser.MAX_RAW).setStrictParsing(false)
                .setMalformedHeaderStartsBody(false).build();
        DefaultMessageBuilder builder = new DefaultMessageBuilder();
        builder.setMimeEntityConfig(config);
        builder.setDecodeMonitor(DecodeMonitor.SILENT);
        Message m = builder.parseMessage(new ByteArrayInputStream(raw));
        MimeView v = new MimeView(m);
        v.topType = m.getMimeType() == null ? "text/plain" : m.getMimeType().toLowerCase(Locale.ROOT);
        Field ct = m.getHeader() == null ? null : m.getHeader().getField("Content-Type");
        if (ct instanceof ContentTypeField ctf) {
            String rt = ctf.getParameter("report-type");
            v.reportType = rt == null ? null : rt.toLowerCase(Locale.ROOT);
        }
        v.walk(m, false, 0);
        return v;
    }

    String header(String name) {
        if (message.getHeader() == null) {
            return null;
        }
        Field f = message.getHeader().getField(name);
        if (f == null) {
            return null;
        }
        String body = f.getBody();
        try {
            return DecoderUtil.decodeEncodedWords(body, DecodeMonitor.SILENT);
        } catch (RuntimeException e) {
            return body;
        }
    }

    private void walk(Entity e, boolean inAttached, int depth) {
        if (depth > 20 || parts.size() >= MAX_PARTS) {
            return;
        }
        Body body = e.getBody();
        String type = e.getMimeType() == null ? "text/plain" : e.getMimeType().toLowerCase(Locale.ROOT);
        boolean attachment = "attachment".equalsIgnoreCase(e.getDispositionType());
        if (body instanceof Multipart mp) {
            if (mp.getBodyParts().isEmpty()) {
                // a declared boundary that never occurs: the whole body ends up in the preamble
                String pre = mp.getPreamble();
                if (pre != null && !pre.isBlank()) {
                    parts.add(new Part("text/plain", pre, inAttached, false));
                }
            }
            for (Entity child : mp.getBodyParts()) {
                walk(child, inAttached, depth + 1);
            }
        } else if (body instanceof Message inner) {
            // the attached original message: record its headers as text, then its parts
            parts.add(new Part("text/rfc822-headers", headersOf(inner), true, attachment));
            walk(inner, true, depth + 1);
        } else if (body instanceof SingleBody sb) {
            parts.add(new Part(type, decode(sb, e.getCharset()), inAttached, attachment));
        }
    }

    private static String headersOf(Message m) {
        StringBuilder sb = new StringBuilder();
        if (m.getHeader() != null) {
            for (Field f : m.getHeader().getFields()) {
                sb.append(f.getName()).append(": ").append(f.getBody()).append('\n');
            }
        }
        return sb.toString();
    }

    static String decode(SingleBody sb, String charset) {
        try {
            if (sb instanceof TextBody tb) {
                charset = tb.getMimeCharset() != null ? tb.getMimeCharset() : charset;
            }
            byte[] bytes;
            try (InputStream in = sb.getInputStream()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                in.transferTo(out);
                bytes = out.toByteArray();
            }
            Charset cs = StandardCharsets.UTF_8;
            if (charset != null) {
                try {
                    cs = Charset.forName(charset.trim());
                } catch (RuntimeException ex) {
                    cs = StandardCharsets.ISO_8859_1;
                }
            }
            return new String(bytes, cs);
        } catch (IOException | RuntimeException ex) {
            return "";
        }
    }
}
