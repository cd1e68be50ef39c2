package org.hermod.itests;

import java.io.File;

/**
 * The programs the integration tests talk to, and the Debian packages that bring them. A missing one fails the test
 * with the package to install (./test.sh installs them all); it never skips.
 */
public enum ExternalTool {
    SWAKS("swaks", "swaks"),
    SMTP_SOURCE("/usr/sbin/smtp-source", "postfix"),
    SMTP_SINK("/usr/sbin/smtp-sink", "postfix"),
    DNSMASQ("/usr/sbin/dnsmasq", "dnsmasq-base"),
    PYTHON3("python3", "python3"),
    PERL("perl", "perl"),
    OPENSSL("openssl", "openssl");

    private final String program;
    private final String debianPackage;

    ExternalTool(String program, String debianPackage) {
        this.program = program;
        this.debianPackage = debianPackage;
    }

    /** The program's path (or name on PATH); throws an AssertionError naming the package when it is not installed. */
    public String require() {
        if (program.startsWith("/")) {
            if (new File(program).canExecute()) {
                return program;
            }
        } else {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
                if (new File(dir, program).canExecute()) {
                    return program;
                }
            }
        }
        throw new AssertionError(program + " is not installed: install the Debian package '" + debianPackage
                + "' (./test.sh installs everything the tests need)");
    }
}
