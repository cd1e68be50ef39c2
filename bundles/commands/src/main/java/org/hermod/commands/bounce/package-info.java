/** Shell commands for bounce classification and the suppression list. */
package org.hermod.commands.bounce;
