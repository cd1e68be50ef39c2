package org.hermod.bounce.internal.parse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import org.apache.james.mime4j.MimeException;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;
import org.hermod.bounce.internal.BounceAnalyzer;
import org.hermod.bounce.internal.HmacReturnPathCodec;
import org.hermod.bounce.internal.RuleBasedBounceClassifier;

/**
 * The fuzz target over the DSN/ARF/auto-reply parser ({@link BounceParser}: Mime4j, header decoding, DSN field blocks,
 * the non-standard bounce heuristics) and the classifier input path ({@link BounceAnalyzer}: VERP verification, the
 * shipped rules), usable by Jazzer's JUnit integration ({@link BounceFuzzTest}) and its CLI ({@code
 * fuzzerTestOneInput(byte[])}). The input is a raw message; its first byte picks whether the envelope recipient is a
 * valid VERP address (the verified path) or a plain one.
 *
 * <p>What must hold for every input: the parser throws nothing but Mime4j's refusal of malformed MIME (an
 * {@link IOException} or {@link MimeException}: the message is then reported as unknown); what it reports is within its
 * limits (recipients, diagnostic length, a well-formed status and reply code); and the analyser never throws and
 * classifies every recipient it reports. The same bytes taken as one reply line are classified, and as a return path
 * decoded (VERP), without an exception.
 */
public final class BounceFuzzTarget {

    /** An SMTP reply line is at most 512 octets (RFC 5321 4.5.3.1.5). */
    private static final int REPLY_MAX = 512;
    private static final Pattern STATUS = Pattern.compile("[245]\\.[0-9]{1,3}\\.[0-9]{1,3}");
    private static final RuleBasedBounceClassifier CLASSIFIER = new RuleBasedBounceClassifier((java.nio.file.Path) null);
    private static final HmacReturnPathCodec CODEC = new HmacReturnPathCodec("fuzz".getBytes(StandardCharsets.UTF_8),
            "bounces.example.com");
    private static final String VERP = CODEC.encode("MX2B3C4D0001", "someone@example.org");

    private BounceFuzzTarget() {
    }

    public static void fuzzerTestOneInput(byte[] data) {
        ParsedBounce parsed;
        try {
            parsed = BounceParser.doParse(data);
        } catch (IOException | MimeException malformed) {
            parsed = null; // Mime4j refused the message: reported as unknown, not a crash
        } catch (RuntimeException | Error e) {
            throw e; // a bug: the safety net in parse() would hide it and lose the bounce
        } catch (Exception e) {
            throw new IllegalStateException("unexpected checked exception", e);
        }
        if (parsed != null) {
            check(parsed);
        }
        String envelope = data.length > 0 && (data[0] & 1) != 0 ? VERP : "whoever@bounces.example.com";
        BounceAnalyzer.Result r = BounceAnalyzer.analyseVerified(data, envelope, CLASSIFIER, CODEC);
        BounceReport report = r.report();
        if (report == null || report.kind() == null) {
            throw new IllegalStateException("no report");
        }
        for (BouncedRecipient b : report.recipients()) {
            if (b.classification() == null || b.classification().category() == null) {
                throw new IllegalStateException("recipient not classified: " + b);
            }
        }
        // the same bytes as one reply line and as a return path: the classifier and the VERP decoder take anything
        String text = new String(data, StandardCharsets.UTF_8);
        String line = text.length() <= REPLY_MAX ? text : text.substring(0, REPLY_MAX);
        Classification c = CLASSIFIER.classify(FailureInput.reply(BounceParser.replyCode(line),
                BounceParser.pickStatus(line), line, null, null));
        if (c == null || c.category() == null) {
            throw new IllegalStateException("reply not classified");
        }
        CODEC.decode(text);
    }

    private static void check(ParsedBounce p) {
        if (p.kind() == null) {
            throw new IllegalStateException("no kind");
        }
        if (p.recipients().size() > BounceParser.MAX_RECIPIENTS) {
            throw new IllegalStateException("too many recipients: " + p.recipients().size());
        }
        for (ParsedBounce.Item it : p.recipients()) {
            if (it.status() != null && !STATUS.matcher(it.status()).matches()) {
                throw new IllegalStateException("malformed status '" + it.status() + "'");
            }
            if (it.replyCode() != 0 && (it.replyCode() < 200 || it.replyCode() > 599)) {
                throw new IllegalStateException("reply code out of range: " + it.replyCode());
            }
            if (it.diagnostic() != null && it.diagnostic().length() > BounceParser.MAX_DIAG) {
                throw new IllegalStateException("diagnostic of " + it.diagnostic().length() + " chars");
            }
        }
    }
}
