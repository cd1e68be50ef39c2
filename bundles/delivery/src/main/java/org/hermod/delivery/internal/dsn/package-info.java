/** RFC 3464 delivery status notifications. */
package org.hermod.delivery.internal.dsn;
