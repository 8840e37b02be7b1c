/* adminv1.h — the admin API's tenant routes (issue 5 item 6), on top of
 * admin.h's server:
 *
 *   GET  /v1/tenants                              per-tenant counters (JSON)
 *   POST /v1/reload                               reload as on SIGHUP (202)
 *   POST /v1/sessions/{tenant}/{user}/reconnect   drop and re-login every
 *                                                 login of that user (202;
 *                                                 404 for an unknown one)
 *
 * The bearer token rule of admin.h applies (non-loopback addresses).
 * Handlers run inside the admin server's lws callback: they never block
 * and never free a tenant (a reload is only requested: app_request_reload
 * raises SIGHUP, handled on the loop's next turn).
 * Thread: loop thread only.
 */
#ifndef KK_ADMINV1_H
#define KK_ADMINV1_H

#include <stddef.h>

#include "admin.h"

struct tenant;

/* How the routes reach the tenants; must outlive the admin server. */
typedef struct adminv1_ops {
    void *ud;
    size_t (*n_tenants)(void *ud);
    struct tenant *(*tenant_at)(void *ud, size_t i);
    void (*reload)(void *ud);
} adminv1_ops;

/* Adds the routes; ops is borrowed. Returns 0 or admin_route_add's error. */
int adminv1_register(admin *a, const adminv1_ops *ops);

#endif
