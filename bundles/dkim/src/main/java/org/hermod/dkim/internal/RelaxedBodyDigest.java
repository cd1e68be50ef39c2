package org.hermod.dkim.internal;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The "relaxed" body canonicalisation of RFC 6376 section 3.4.4, streamed into SHA-256: white space at line ends
 * removed, runs of white space made one space, empty lines at the end of the body removed, a CRLF added to a last line
 * that lacks one. Only CRLF ends a line; a bare CR or LF is content. Constant memory whatever the body's size.
 */
final class RelaxedBodyDigest {

    private final MessageDigest digest;
    private final byte[] out = new byte[8192];
    private int outLen;
    private boolean pendingSpace;
    private boolean lineHasContent;
    private boolean pendingCr;
    private long pendingEmptyLines;

    RelaxedBodyDigest() {
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The body hash of a whole stream (read to its end, not closed). */
    static byte[] of(InputStream body) throws IOException {
        RelaxedBodyDigest d = new RelaxedBodyDigest();
        byte[] buf = new byte[16384];
        int n;
        while ((n = body.read(buf)) != -1) {
            d.update(buf, 0, n);
        }
        return d.finish();
    }

    void update(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (pendingCr) {
                pendingCr = false;
                if (c == '\n') {
                    endOfLine();
                    continue;
                }
                content((byte) '\r');
            }
            if (c == '\r') {
                pendingCr = true;
            } else if (c == ' ' || c == '\t') {
                pendingSpace = true;
            } else {
                content(c);
            }
        }
    }

    /** Ends the body and returns the hash. */
    byte[] finish() {
        if (pendingCr) {
            pendingCr = false;
            content((byte) '\r');
        }
        if (lineHasContent) { // a last line without CRLF gets one
            emit((byte) '\r');
            emit((byte) '\n');
        }
        flush();
        return digest.digest();
    }

    private void content(byte c) {
        while (pendingEmptyLines > 0) {
            emit((byte) '\r');
            emit((byte) '\n');
            pendingEmptyLines--;
        }
        if (pendingSpace) { // a run of white space inside a line, or leading it, is one space
            emit((byte) ' ');
        }
        pendingSpace = false;
        lineHasContent = true;
        emit(c);
    }

    private void endOfLine() {
        if (lineHasContent) {
            emit((byte) '\r');
            emit((byte) '\n');
        } else {
            pendingEmptyLines++;
        }
        pendingSpace = false;
        lineHasContent = false;
    }

    private void emit(byte c) {
        if (outLen == out.length) {
            flush();
        }
        out[outLen++] = c;
    }

    private void flush() {
        digest.update(out, 0, outLen);
        outLen = 0;
    }
}
