package org.hermod.api.spool;

import java.io.IOException;

/**
 * The spool refuses new mail because its file system is (nearly) full. Mail already accepted is unaffected and still
 * delivered; acceptance resumes by itself once space returns. An SMTP server answers {@code 452 4.3.1}.
 */
public class SpoolFullException extends IOException {

    private static final long serialVersionUID = 1L;

    public SpoolFullException(String message) {
        super(message);
    }
}
