/* relay.h — kkim-relay's layers above the app: tenants and their logins.
 * relay_main parses the command line (see app.h) and runs the daemon with
 * the relay's hooks. Loop thread only; one relay per process. */
#ifndef KK_RELAY_H
#define KK_RELAY_H

typedef struct relay relay;

/* Runs kkim-relay; returns the process exit code. */
int relay_main(int argc, char **argv);

#endif
