/* main.c — kkim-relay entry point: everything lives in app.c so tests can
 * link it; main only hands over the command line. */
#include "relay.h"

/* Runs the daemon (see app_main). */
int main(int argc, char **argv)
{
    return relay_main(argc, argv);
}
