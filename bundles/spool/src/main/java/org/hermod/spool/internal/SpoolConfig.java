package org.hermod.spool.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Hermod spool", description = "Durable message spool and queue index")
public @interface SpoolConfig {

    @AttributeDefinition(description = "Spool directory; empty means ${karaf.data}/hermod/spool")
    String directory() default "";

    @AttributeDefinition(description = "Journal segment size in MiB; a segment is deleted once none of its messages is queued")
    int segmentSizeMb() default 64;

    @AttributeDefinition(description = "Seconds between spool compaction runs (deleting and compacting obsolete segments)")
    int compactIntervalSeconds() default 10;

    @AttributeDefinition(description = "Free space (MiB) the spool's file system must keep after a new message is written;"
            + " below it new mail is refused with 452 4.3.1 (as Postfix's queue_minfree) while delivery outcomes are"
            + " still written into the space below the floor. Make it at least 1.5 times the largest message. 0: off")
    int minFreeSpaceMb() default 100;

    @AttributeDefinition(description = "Hours a held message may stay queued before it is returned to its sender without"
            + " delivery (a held message still expires by age; match the delivery maxAge). 0: held for ever")
    int heldMaxAgeHours() default 120;

    @AttributeDefinition(description = "MiB of just-stored message content kept in memory for its first delivery (read"
            + " from the journal otherwise, and always after a restart); 0 = always read the journal")
    int recentContentMb() default 64;
}
