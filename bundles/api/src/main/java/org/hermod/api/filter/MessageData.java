package org.hermod.api.filter;

import java.io.InputStream;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A message's content as the end-of-data stage sees it: the header section parsed, and the body as a stream.
 * Reflects the changes of the filters that ran before.
 */
@ProviderType
public interface MessageData {

    /** The header fields in order. */
    List<HeaderField> headers();

    /** The first value of a header field (case-insensitive name), or null. */
    String header(String name);

    /** The body (after the blank line), as stored: CRLF line endings. A fresh stream on each call. */
    InputStream body();

    /** The whole message (headers and body) as stored: CRLF line endings. A fresh stream on each call. */
    InputStream content();

    /** Size of the whole message in bytes. */
    long size();
}
