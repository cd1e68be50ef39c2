package org.hermod.api.bounce;

/**
 * One failed (or delayed) recipient found in an asynchronous bounce message.
 *
 * @param recipient the final recipient address (lower-cased), or null when the bounce does not name it
 * @param originalRecipient the original recipient (DSN Original-Recipient, or the VERP-decoded one), or null
 * @param action the DSN action ({@code failed}, {@code delayed}); {@code failed} for non-standard bounces
 * @param status the enhanced status code found in the bounce, or null
 * @param replyCode the SMTP reply code found in the diagnostic text, or 0
 * @param diagnostic the diagnostic text (remote reply or the bounce's explanation), never null
 * @param remoteMta the remote MTA named by the bounce, or null
 * @param classification the verdict for this recipient
 */
public record BouncedRecipient(String recipient, String originalRecipient, String action, String status,
                               int replyCode, String diagnostic, String remoteMta, Classification classification) {

    public BouncedRecipient {
        diagnostic = diagnostic == null ? "" : diagnostic;
    }
}
