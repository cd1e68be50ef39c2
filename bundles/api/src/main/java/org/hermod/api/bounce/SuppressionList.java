package org.hermod.api.bounce;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Addresses Hermod must not send to any more (hard bounces, complaints, operator entries). Addresses are compared
 * lower-cased. {@link #contains} is an in-memory lookup and safe to call on hot paths; writes go through to durable
 * storage. Thread-safe.
 */
@ProviderType
public interface SuppressionList {

    /** Adds the address; returns false when it was already present (the existing entry is kept). */
    boolean add(String address, String reason, String source);

    /** Removes the address; returns false when it was not present. */
    boolean remove(String address);

    boolean contains(String address);

    /** The entries, newest first, at most {@code limit} of them. */
    List<SuppressionEntry> list(int limit);

    int size();
}
