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
 * VERP return paths {@code b-<queueid>-<hex(recipient)>-<hmac8>@<bounce domain>}, signed with HMAC-SHA256 over
 * queue id and recipient. Without a configured secret, one is generated once and kept in
 * {@code ${karaf.data}/hermod/verp.key}.
 */
@Component(service = ReturnPathCodec.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class HmacReturnPathCodec implements ReturnPathCodec {

    private static final Pattern VERP = Pattern.compile("^b-([A-Za-z0-9._]+)-([0-9a-f]+)-([0-9a-f]{8})@(.+)$");

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
        String rcpt = recipient.toLowerCase(Locale.ROOT);
        return "b-" + queueId + "-" + HexFormat.of().formatHex(rcpt.getBytes(StandardCharsets.UTF_8)) + "-"
                + mac(queueId, rcpt) + "@" + domain;
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
            Matcher m = VERP.matcher(rp.toLowerCase(Locale.ROOT).startsWith("b-") ? rp : "");
            if (!m.matches() || !m.group(4).equalsIgnoreCase(domain)) {
                return Optional.empty();
            }
            String rcpt = new String(HexFormat.of().parseHex(m.group(2)), StandardCharsets.UTF_8);
            String expected = mac(m.group(1), rcpt);
            if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                    m.group(3).toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII))) {
                return Optional.empty();
            }
            return Optional.of(new Decoded(m.group(1), rcpt));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The configured bounce domain in lower case, or "" when none is configured. */
    @Override
    public String bounceDomain() {
        return domain;
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
