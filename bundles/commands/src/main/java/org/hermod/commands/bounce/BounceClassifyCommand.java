package org.hermod.commands.bounce;

import java.nio.file.Files;
import java.nio.file.Paths;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceProcessor;
import org.hermod.api.bounce.BounceReport;
import org.hermod.api.bounce.BouncedRecipient;
import org.hermod.api.bounce.Classification;
import org.hermod.api.bounce.FailureInput;

/** {@code hermod:bounce-classify "550 5.1.1 User unknown"} or {@code hermod:bounce-classify --file bounce.eml}. */
@Command(scope = "hermod", name = "bounce-classify", description = "Classify a reply text or a bounce message")
@Service
public class BounceClassifyCommand implements Action {

    /** The active classifier is looked up per call: a higher-ranked one installed at runtime takes over at once. */
    @Reference
    org.osgi.framework.BundleContext bundleContext;

    /** Optional: classifying a reply text works without it (e.g. while the suppression database is down). */
    @Reference(optional = true)
    BounceProcessor processor;

    @Option(name = "--file", aliases = "-f", description = "A bounce message (.eml) to parse and classify")
    String file;

    @Argument(index = 0, name = "reply", description = "The reply text, e.g. \"550 5.1.1 User unknown\"")
    String reply;

    @Override
    public Object execute() throws Exception {
        if (file != null) {
            if (processor == null) {
                System.out.println("the bounce processor is not available; only reply texts can be classified");
                return null;
            }
            java.nio.file.Path path = Paths.get(file);
            if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
                System.out.println("no such readable file: " + path.toAbsolutePath());
                return null;
            }
            byte[] raw;
            try {
                raw = Files.readAllBytes(path);
            } catch (java.io.IOException e) {
                System.out.println("cannot read " + path.toAbsolutePath() + ": " + e.getMessage());
                return null;
            }
            BounceReport r = processor.analyse(raw, null);
            System.out.println("kind: " + r.kind() + (r.feedbackType() == null ? "" : " (" + r.feedbackType() + ")")
                    + (r.error() == null ? "" : "  error: " + r.error()));
            for (BouncedRecipient b : r.recipients()) {
                System.out.println("recipient: " + b.recipient() + "  action: " + b.action() + "  reply: "
                        + b.replyCode());
                print(b.classification());
            }
            return null;
        }
        if (reply == null) {
            System.out.println("give a reply text or --file <bounce.eml>");
            return null;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\s*([2-5][0-9][0-9])[ -]?(.*)$",
                java.util.regex.Pattern.DOTALL).matcher(reply);
        int code = 0;
        String text = reply;
        if (m.matches()) {
            code = Integer.parseInt(m.group(1));
            text = m.group(2);
        }
        org.osgi.framework.ServiceReference<BounceClassifier> ref = bundleContext.getServiceReference(BounceClassifier.class);
        if (ref == null) {
            System.out.println("no bounce classifier is available");
            return null;
        }
        BounceClassifier classifier = bundleContext.getService(ref);
        try {
            print(classifier.classify(FailureInput.reply(code, null, text, null, null)));
        } finally {
            bundleContext.ungetService(ref);
        }
        return null;
    }

    static void print(Classification c) {
        System.out.println("category: " + c.category() + "  " + (c.permanent() ? "permanent" : "temporary")
                + "  status: " + c.enhancedStatus());
        System.out.println("rule: " + c.trace().ruleId() + " (" + c.trace().source() + ") matched: "
                + c.trace().matched());
        System.out.println("considered before: " + c.trace().considered().size() + " rules "
                + c.trace().considered());
    }
}
