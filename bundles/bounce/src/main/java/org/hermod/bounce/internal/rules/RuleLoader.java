package org.hermod.bounce.internal.rules;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a {@link RuleSet}: the operator file's rules first (in file order), then the defaults shipped in the bundle
 * ordered by {@link Evidence} level.
 */
public final class RuleLoader {

    /** The default rules, a resource of this bundle. */
    public static final String DEFAULT_RESOURCE = "/org/hermod/bounce/default-rules.txt";

    private RuleLoader() {
    }

    public static RuleSet load(Path overrideFile) {
        List<Rule> rules = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        if (overrideFile != null && Files.isRegularFile(overrideFile)) {
            try (Reader r = Files.newBufferedReader(overrideFile, StandardCharsets.UTF_8)) {
                RuleParser.Result res = RuleParser.parse(overrideFile.toString(), r);
                rules.addAll(res.rules());
                errors.addAll(res.errors());
            } catch (IOException | RuntimeException e) {
                errors.add(overrideFile + ": " + e);
            }
        }
        rules.addAll(defaults(errors));
        return new RuleSet(rules, errors);
    }

    /**
     * The shipped rules in evaluation order: strongest evidence first, file order within a level (a stable sort).
     * Operator rules are not reordered: the operator's file is tried first, in its own order.
     */
    public static List<Rule> byEvidence(List<Rule> rules) {
        List<Rule> sorted = new ArrayList<>(rules);
        sorted.sort(java.util.Comparator.comparing(Rule::evidence));
        return sorted;
    }

    static List<Rule> defaults(List<String> errors) {
        try (InputStream in = RuleLoader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                errors.add("missing resource " + DEFAULT_RESOURCE);
                return List.of();
            }
            RuleParser.Result res = RuleParser.parse("default-rules.txt",
                    new InputStreamReader(in, StandardCharsets.UTF_8));
            errors.addAll(res.errors());
            return byEvidence(res.rules());
        } catch (IOException e) {
            errors.add(DEFAULT_RESOURCE + ": " + e);
            return List.of();
        }
    }
}
