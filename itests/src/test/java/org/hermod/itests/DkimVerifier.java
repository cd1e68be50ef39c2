package org.hermod.itests;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The independent DKIM verifier of the tests: dkimpy (Debian python3-dkim; python3-nacl for Ed25519) looking the keys
 * up over the wire, with dnspython (python3-dnspython), at a test DNS server. Also makes keys and their DNS records
 * with openssl, so that neither side of the check is Hermod's own code.
 */
final class DkimVerifier {

    private static final String PYTHON = "/usr/bin/python3"; // Debian's, where the python3-* packages install

    /** Prints "sig N: pass|fail a=.. d=.. s=.. [reason]" per DKIM-Signature of the message file. */
    private static final String SCRIPT = String.join("\n",
            "import re, sys",
            "import dkim, dns.resolver",
            "resolver = dns.resolver.Resolver(configure=False)",
            "resolver.nameservers = ['127.0.0.1']",
            "resolver.port = int(sys.argv[2])",
            "def dnsfunc(name, timeout=5):",
            "    try:",
            "        answer = resolver.resolve(name.decode('ascii').rstrip('.'), 'TXT', lifetime=timeout)",
            "    except Exception:",
            "        return None",
            "    return b''.join(b''.join(r.strings) for r in answer)",
            "message = open(sys.argv[1], 'rb').read()",
            "sigs = [v for (k, v) in dkim.DKIM(message).headers if k.lower() == b'dkim-signature']",
            "if not sigs:",
            "    print('no signature')",
            "for i, value in enumerate(sigs):",
            "    tags = dict(re.findall(rb'(\\w+)\\s*=\\s*([^;]*)', value))",
            "    desc = ' '.join('%s=%s' % (t, tags.get(t.encode(), b'?').decode().strip()) for t in ('a', 'd', 's'))",
            "    try:",
            "        ok = dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc)",
            "        print('sig %d: %s %s' % (i, 'pass' if ok else 'fail', desc))",
            "    except Exception as e:",
            "        print('sig %d: fail %s %s' % (i, desc, e))");

    private DkimVerifier() {
    }

    /** One line per signature, verified with keys from the DNS server on 127.0.0.1:dnsPort. */
    static List<String> verify(byte[] message, int dnsPort) throws Exception {
        require();
        Path f = Files.createTempFile("dkim-it", ".eml");
        try {
            Files.write(f, message);
            String out = run(List.of(PYTHON, "-c", SCRIPT, f.toString(), String.valueOf(dnsPort)));
            List<String> lines = new ArrayList<>();
            for (String l : out.split("\n")) {
                if (l.startsWith("sig ") || l.startsWith("no signature")) {
                    lines.add(l.strip());
                }
            }
            if (lines.isEmpty()) {
                throw new AssertionError("the verifier printed no result: " + out);
            }
            return lines;
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Makes a private key with openssl genpkey (algorithm RSA or ED25519) and returns its TXT record. */
    static String makeKey(String algorithm, Path pem) throws Exception {
        String openssl = ExternalTool.OPENSSL.require();
        List<String> gen = new ArrayList<>(List.of(openssl, "genpkey", "-algorithm", algorithm));
        if (algorithm.equals("RSA")) {
            gen.addAll(List.of("-pkeyopt", "rsa_keygen_bits:2048"));
        }
        gen.addAll(List.of("-out", pem.toString()));
        run(gen);
        Process p = new ProcessBuilder(openssl, "pkey", "-in", pem.toString(), "-pubout", "-outform", "DER").start();
        byte[] spki = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || spki.length < 32) {
            throw new AssertionError("openssl pkey -pubout failed for " + pem);
        }
        if (algorithm.equals("RSA")) {
            return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(spki);
        }
        byte[] raw = java.util.Arrays.copyOfRange(spki, spki.length - 32, spki.length); // RFC 8463: the bare key
        return "v=DKIM1; k=ed25519; p=" + Base64.getEncoder().encodeToString(raw);
    }

    /** A dnsmasq option publishing a TXT record (split into strings of at most 255 octets). */
    static String txtRecord(String name, String value) {
        StringBuilder sb = new StringBuilder("--txt-record=").append(name);
        for (int i = 0; i < value.length(); i += 255) {
            sb.append(',').append(value, i, Math.min(value.length(), i + 255));
        }
        return sb.toString();
    }

    private static void require() throws Exception {
        if (!new File(PYTHON).canExecute()) {
            throw new AssertionError("/usr/bin/python3 is not installed: install the Debian package 'python3'");
        }
        String out = run(List.of(PYTHON, "-c", "import dkim, nacl, dns.resolver; print('ok')"));
        if (!out.strip().endsWith("ok")) {
            throw new AssertionError("the DKIM verifier needs the Debian packages 'python3-dkim', 'python3-nacl' and "
                    + "'python3-dnspython': " + out.strip());
        }
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        String s = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError("exit " + p.exitValue() + ": " + cmd.get(0) + " " + cmd.get(1) + ": " + s);
        }
        return s;
    }
}
