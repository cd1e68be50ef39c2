package org.hermod.bounce.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.hermod.api.bounce.ReturnPathCodec;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;

/**
 * VERP return paths in the classic form {@code b-<queueid>-<local>=<domain>-<hmac8>@<bounce domain>} (as qmail and
 * Postfix write them: readable, and only 24 characters longer than the recipient), or, for a recipient with characters
 * that form cannot carry, {@code b-<queueid>-<base32(recipient)>-<hmac8>@<bounce domain>} (lower-case base32 without
 * padding); signed with HMAC-SHA256 over the lower-cased queue id and recipient, so a relay that changes the case of
 * the return path does not break verification. Encoding refuses (IllegalArgumentException) when the local part would
 * exceed the 64 characters of RFC 5321; delivery then keeps the original sender. Return paths of the earlier
 * hex format still decode. Without a configured secret, one is generated once and kept in
 * {@code ${karaf.data}/hermod/verp.key}.
 */
@Component(service = ReturnPathCodec.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class HmacReturnPathCodec implements ReturnPathCodec {

    private static final Pattern VERP = Pattern.compile("^b-([A-Za-z0-9._]++)-([0-9a-z._+=-]+)-([0-9a-f]{8})@(.++)$",
            Pattern.CASE_INSENSITIVE);
    /** What the classic form carries as is: a plain dot-atom local part and an ASCII host name. */
    private static final Pattern CLASSIC = Pattern.compile("[a-z0-9._+-]++@[a-z0-9.-]++");
    /** RFC 5321 limit on the local part. */
    static final int MAX_LOCAL = 64;
    private static final String B32 = "abcdefghijklmnopqrstuvwxyz234567";

    private volatile byte[] secret;
    private volatile String domain;
    private BundleContext context;

    /** For OSGi. */
    public HmacReturnPathCodec() {
    }

    /** For tests and tools. */
    public HmacReturnPathCodec(byte[] secret, String bounceDomain) {
        this.secret = secret.clone();
        this.domain = normalizeDomain(bounceDomain);
    }

    @Activate
    void activate(BundleContext ctx, BounceConfig config) throws IOException {
        this.context = ctx;
        modified(config);
    }

    @Modified
    void modified(BounceConfig config) throws IOException {
        domain = normalizeDomain(config.bounceDomain());
        secret = config.verpSecret().isBlank()
                ? loadOrCreateKey(KarafPaths.data(context).resolve("hermod").resolve("verp.key"))
                : config.verpSecret().getBytes(StandardCharsets.UTF_8);
    }

    /** Lower case without surrounding blanks; "" for null or blank (no bounce domain configured: VERP off). */
    static String normalizeDomain(String d) {
        return d == null ? "" : d.strip().toLowerCase(Locale.ROOT);
    }

    /** Reads the key file, creating it with 32 random bytes (hex) the first time. */
    static byte[] loadOrCreateKey(Path file) throws IOException {
        if (Files.isRegularFile(file)) {
            return Files.readString(file, StandardCharsets.US_ASCII).strip().getBytes(StandardCharsets.US_ASCII);
        }
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        String hex = HexFormat.of().formatHex(raw);
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, hex + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return hex.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public String encode(String queueId, String recipient) {
        if (queueId == null || !queueId.matches("[A-Za-z0-9._]+")) {
            throw new IllegalArgumentException("queue id must be [A-Za-z0-9._]+: " + queueId);
        }
        if (recipient == null) {
            throw new IllegalArgumentException("no recipient");
        }
        String rcpt = recipient.toLowerCase(Locale.ROOT);
        String carried = CLASSIC.matcher(rcpt).matches() ? rcpt.replace('@', '=')
                : base32(rcpt.getBytes(StandardCharsets.UTF_8));
        String local = "b-" + queueId + "-" + carried + "-" + mac(queueId.toLowerCase(Locale.ROOT), rcpt);
        if (local.length() > MAX_LOCAL) {
            throw new IllegalArgumentException("VERP local part would be " + local.length() + " > " + MAX_LOCAL
                    + " characters for " + recipient);
        }
        return local + "@" + domain;
    }

    @Override
    public Optional<Decoded> decode(String returnPath) {
        try {
            if (returnPath == null) {
                return Optional.empty();
            }
            String rp = returnPath.strip();
            if (rp.startsWith("<") && rp.endsWith(">")) {
                rp = rp.substring(1, rp.length() - 1);
            }
            if (rp.length() > 320 || domain == null || domain.isEmpty()) {
                return Optional.empty();
            }
            Matcher m = VERP.matcher(rp);
            if (!m.matches() || !m.group(4).equalsIgnoreCase(domain)) {
                return Optional.empty();
            }
            String qid = m.group(1);
            String enc = m.group(2).toLowerCase(Locale.ROOT);
            byte[] given = m.group(3).toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
            int eq = enc.lastIndexOf('=');
            if (eq > 0) { // classic form: local=domain
                String rcpt = enc.substring(0, eq) + "@" + enc.substring(eq + 1);
                if (MessageDigest.isEqual(mac(qid.toLowerCase(Locale.ROOT), rcpt)
                        .getBytes(StandardCharsets.US_ASCII), given)) {
                    return Optional.of(new Decoded(qid, rcpt));
                }
                return Optional.empty();
            }
            byte[] b32 = unbase32(enc);
            if (b32 != null) {
                String rcpt = new String(b32, StandardCharsets.UTF_8);
                if (MessageDigest.isEqual(mac(qid.toLowerCase(Locale.ROOT), rcpt)
                        .getBytes(StandardCharsets.US_ASCII), given)) {
                    return Optional.of(new Decoded(qid, rcpt));
                }
            }
            if (enc.length() % 2 == 0 && enc.matches("[0-9a-f]+")) { // the earlier hex format, MAC over the queue id as is
                String rcpt = new String(HexFormat.of().parseHex(enc), StandardCharsets.UTF_8);
                if (MessageDigest.isEqual(mac(qid, rcpt).getBytes(StandardCharsets.US_ASCII), given)) {
                    return Optional.of(new Decoded(qid, rcpt));
                }
            }
            return Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The configured bounce domain in lower case, or "" when none is configured. */
    @Override
    public String bounceDomain() {
        return domain;
    }

    /** Lower-case RFC 4648 base32 without padding. */
    static String base32(byte[] data) {
        StringBuilder sb = new StringBuilder((data.length * 8 + 4) / 5);
        int buf = 0;
        int bits = 0;
        for (byte b : data) {
            buf = (buf << 8) | (b & 0xff);
            bits += 8;
            while (bits >= 5) {
                sb.append(B32.charAt((buf >>> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        if (bits > 0) {
            sb.append(B32.charAt((buf << (5 - bits)) & 31));
        }
        return sb.toString();
    }

    /** The inverse of {@link #base32}, or null when the text is not canonical base32. */
    static byte[] unbase32(String s) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length() * 5 / 8);
        int buf = 0;
        int bits = 0;
        for (int i = 0; i < s.length(); i++) {
            int v = B32.indexOf(s.charAt(i));
            if (v < 0) {
                return null;
            }
            buf = (buf << 5) | v;
            bits += 5;
            if (bits >= 8) {
                out.write((buf >>> (bits - 8)) & 0xff);
                bits -= 8;
            }
        }
        if (bits >= 5 || (buf & ((1 << bits) - 1)) != 0) {
            return null;
        }
        return out.toByteArray();
    }

    private String mac(String queueId, String rcpt) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(queueId.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            byte[] h = mac.doFinal(rcpt.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 4);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
