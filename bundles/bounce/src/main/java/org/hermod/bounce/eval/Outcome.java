package org.hermod.bounce.eval;

import java.util.List;
import java.util.Set;

/**
 * One scored corpus record.
 *
 * @param set the data set ({@code bounces}, {@code more-bounces}, {@code smtp-replies})
 * @param fold the source the record belongs to: MTA family for {@code bounces/}, project for {@code more-bounces/},
 *        provider for reply lines
 * @param id the file and recipient index, or the reply line
 * @param primary the expected primary category
 * @param acceptable every defensible category
 * @param got the category the classifier gave ({@code (none)} when it found no recipient)
 * @param found whether a record for the expected recipient was found
 * @param catOk category acceptable
 * @param permCounted whether temporary/permanent is scored on this record
 * @param permOk temporary/permanent right
 * @param statusCounted whether the enhanced status is scored on this record
 * @param statusOk enhanced status right
 * @param crash the classifier or parser crashed on this record's message
 * @param miss the line printed for a wrong record, or null
 * @param rules ids of the rules that decided on this record's message (every recipient of it)
 */
public record Outcome(String set, String fold, String id, String primary, List<String> acceptable, String got,
                      boolean found, boolean catOk, boolean permCounted, boolean permOk, boolean statusCounted,
                      boolean statusOk, boolean crash, String miss, Set<String> rules) {

    public Outcome {
        acceptable = List.copyOf(acceptable);
        rules = Set.copyOf(rules);
    }
}
