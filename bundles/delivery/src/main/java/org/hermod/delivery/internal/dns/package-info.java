/** Mail exchanger resolution with dnsjava (MX order, implicit MX, null MX, TTL cache). */
package org.hermod.delivery.internal.dns;
