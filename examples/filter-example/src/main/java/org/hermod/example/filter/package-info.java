/**
 * An example routing filter bundle, to copy as a template: a per-tenant header stamp at end of data
 * ({@link org.hermod.example.filter.TenantStampFilter}) and a recipient-domain blocklist at RCPT
 * ({@link org.hermod.example.filter.DomainBlocklistFilter}), configured by ConfigAdmin (PID
 * {@code org.hermod.example.filter}). Not exported: filters are services, nobody imports their classes.
 */
package org.hermod.example.filter;
