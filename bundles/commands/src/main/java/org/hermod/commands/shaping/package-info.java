/** Shell commands for traffic shaping: sources, pools, the limits in force per path, events, suspensions. */
package org.hermod.commands.shaping;
