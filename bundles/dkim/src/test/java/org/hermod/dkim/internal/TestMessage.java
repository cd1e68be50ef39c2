package org.hermod.dkim.internal;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.MessageData;

/** A stored message for tests: raw bytes (CRLF), with the header view the filter API gives. */
final class TestMessage implements MessageData {

    private final byte[] content;

    TestMessage(byte[] content) {
        this.content = content;
    }

    /** From text with LF or CRLF line ends (made CRLF), ISO-8859-1 so that any byte can be written. */
    static TestMessage of(String text) {
        return new TestMessage(text.replace("\r\n", "\n").replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    }

    byte[] bytes() {
        return content.clone();
    }

    /** The message as delivered after the decision's header additions (each added at the top, as the chain does). */
    byte[] withAdded(FilterDecision d) {
        StringBuilder top = new StringBuilder();
        List<HeaderField> added = d.headersAdded();
        for (int i = added.size() - 1; i >= 0; i--) {
            top.append(added.get(i).name()).append(": ").append(added.get(i).value()).append("\r\n");
        }
        byte[] t = top.toString().getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[t.length + content.length];
        System.arraycopy(t, 0, out, 0, t.length);
        System.arraycopy(content, 0, out, t.length, content.length);
        return out;
    }

    @Override
    public List<HeaderField> headers() {
        List<HeaderField> out = new ArrayList<>();
        try {
            for (RawHeader h : HeaderSection.read(HeaderSection.pushback(content()))) {
                String raw = new String(h.raw(), StandardCharsets.ISO_8859_1);
                out.add(new HeaderField(h.name(), raw.substring(raw.indexOf(':') + 1).replace("\r\n", "").strip()));
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    @Override
    public String header(String name) {
        return headers().stream().filter(h -> h.name().equalsIgnoreCase(name)).map(HeaderField::value).findFirst()
                .orElse(null);
    }

    @Override
    public InputStream body() {
        try {
            java.io.PushbackInputStream in = HeaderSection.pushback(content());
            HeaderSection.read(in);
            return in;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public InputStream content() {
        return new ByteArrayInputStream(content);
    }

    @Override
    public long size() {
        return content.length;
    }
}
