package org.hermod.itests;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Reads a DSN back with third-party parsers: Python's email package, and Debian's sisimai. */
public final class DsnCheck {

    private static final String PY = String.join("\n",
            "import email, sys",
            "from email import policy",
            "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)",
            "print('content-type:', m.get_content_type())",
            "print('report-type:', m.get_param('report-type'))",
            "for part in m.walk():",
            "    if part.get_content_type() == 'message/delivery-status':",
            "        for block in part.get_payload():",
            "            for k in ('Reporting-MTA', 'Original-Envelope-Id', 'Final-Recipient', 'Original-Recipient',",
            "                      'Action', 'Status', 'Remote-MTA', 'Diagnostic-Code'):",
            "                if block.get(k): print(k + ':', block.get(k))");

    private DsnCheck() {
    }

    /** What Python's email parser sees in the DSN: content type, report type and the delivery-status fields. */
    public static String python(String message) throws Exception {
        return run(message, ExternalTool.PYTHON3.require(), "-c", PY);
    }

    /** sisimai's verdict: "recipient reason status" per bounced recipient. */
    public static String sisimai(String message) throws Exception {
        String out = run("From MAILER-DAEMON Sun Nov 29 00:00:00 2026\n" + message.replace("\r\n", "\n"), ExternalTool.PERL.require(), "-MSisimai", "-e",
                "my $v = Sisimai->make($ARGV[0]) || []; for my $e (@$v) { print join(' ', $e->recipient->address,"
                        + " $e->reason, $e->deliverystatus), \"\\n\" }");
        if (out.contains("Can't locate Sisimai")) {
            throw new AssertionError("sisimai is not installed: install the Debian package 'libsisimai-perl'"
                    + " (./test.sh installs everything the tests need)");
        }
        return out;
    }

    private static String run(String message, String... cmd) throws Exception {
        Path f = Files.createTempFile("dsn", ".eml");
        try {
            Files.writeString(f, message, StandardCharsets.UTF_8);
            String[] full = java.util.Arrays.copyOf(cmd, cmd.length + 1);
            full[cmd.length] = f.toString();
            Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return out;
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
