/** Shell commands for routing filters: list with counters, disable/enable, rollback, and dry runs of the rule router. */
package org.hermod.commands.filter;
