/* adminv1.c — GET /v1/tenants, POST /v1/reload and POST
 * /v1/sessions/{tenant}/{user}/reconnect. Contract: adminv1.h. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adminv1.h"
#include "lease.h"
#include "tenant.h"

/* Longest tenant or user path segment accepted. */
#define ADMINV1_SEG_MAX 160

/* Writes a JSON object as the response body. */
static int reply_json(admin_resp *resp, int status, json_t *o)
{
    if (!o)
        return KK_ENOMEM;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return KK_ENOMEM;
    resp->status = status;
    resp->content_type = "application/json";
    int rc = kk_buf_append(&resp->body, s, strlen(s));
    if (rc == 0)
        rc = kk_buf_append(&resp->body, "\n", 1);
    free(s);
    return rc;
}

/* A tenant's leases: counts and the shards held (lease.h). */
static json_t *leases_json(const lease *l)
{
    lease_stats st;
    lease_get_stats(l, &st);
    char held[LEASE_HELD_JSON_MAX];
    json_t *shards = lease_held_json(l, held, sizeof held) ? json_loads(held, 0, NULL) : NULL;
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o*}", "shards", (json_int_t)lease_shards(l),
                     "held", (json_int_t)st.held, "target", (json_int_t)st.target, "live",
                     (json_int_t)st.live, "claims",
                     (json_int_t)st.claims, "losses", (json_int_t)st.losses, "releases",
                     (json_int_t)st.releases, "heldShards", shards);
}

/* One tenant's counters as a JSON object. */
static json_t *tenant_json(tenant *t)
{
    tenant_counters c;
    tenant_counters_get(t, &c);
    json_t *ss = json_object();
    for (int st = 0; st < SESS_STATE_COUNT; st++)
        json_object_set_new(ss, sess_state_name((sess_state)st), json_integer((json_int_t)c.sessions[st]));
    json_t *ob = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "read", (json_int_t)c.ob.read,
                           "sent", (json_int_t)c.ob.sent, "rejected", (json_int_t)c.ob.rejected,
                           "failed", (json_int_t)c.ob.failed, "ackedOnly", (json_int_t)c.ob.acked_only,
                           "settledFound", (json_int_t)c.ob.settled_found, "settledMissing",
                           (json_int_t)c.ob.settled_missing, "claimed", (json_int_t)c.ob.claimed,
                           "handedOver", (json_int_t)c.ob.handed_over,
                           "inflight", (json_int_t)c.ob.inflight);
    json_t *lag = json_pack("{s:I,s:I,s:I}", "bufferedMsgs", (json_int_t)c.cs.buffered_msgs,
                            "bufferedBytes", (json_int_t)c.cs.buffered_bytes, "outboxHeld",
                            (json_int_t)c.ob.inflight);
    json_t *o = json_pack("{s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "id", tenant_id(t),
                     "users", (json_int_t)c.users, "sessions", ss, "appended",
                     (json_int_t)c.rs.appended, "dups", (json_int_t)(c.rs.dups + c.cs.dups),
                     "holes", (json_int_t)c.cs.holes, "holesFilled", (json_int_t)c.cs.holes_filled,
                     "gaps", (json_int_t)c.cs.gaps, "gapSeqs", (json_int_t)c.cs.gap_seqs,
                     "events", (json_int_t)c.rs.events, "outbox", ob, "lag", lag);
    if (o && tenant_lease(t))
        json_object_set_new(o, "leases", leases_json(tenant_lease(t)));
    return o;
}

/* GET /v1/tenants. */
static int h_tenants(void *ud, const admin_req *req, admin_resp *resp)
{
    const adminv1_ops *ops = ud;
    (void)req;
    json_t *arr = json_array();
    size_t n = ops->n_tenants(ops->ud);
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, tenant_json(ops->tenant_at(ops->ud, i)));
    return reply_json(resp, 200, arr ? json_pack("{s:o}", "tenants", arr) : NULL);
}

/* POST /v1/reload: the same path as SIGHUP. */
static int h_reload(void *ud, const admin_req *req, admin_resp *resp)
{
    const adminv1_ops *ops = ud;
    (void)req;
    ops->reload(ops->ud);
    return reply_json(resp, 202, json_pack("{s:s}", "reload", "requested"));
}

/* Copies the path segment at *p (up to '/') into out; advances *p past
 * it and its slash. False when empty or too long. */
static bool take_seg(const char **p, char *out, size_t cap)
{
    const char *e = strchr(*p, '/');
    size_t n = e ? (size_t)(e - *p) : strlen(*p);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n + (e ? 1 : 0);
    return true;
}

/* POST /v1/sessions/{tenant}/{user}/reconnect. */
static int h_reconnect(void *ud, const admin_req *req, admin_resp *resp)
{
    const adminv1_ops *ops = ud;
    static const char prefix[] = "/v1/sessions/";
    char tid[ADMINV1_SEG_MAX], user[ADMINV1_SEG_MAX], verb[32];
    const char *p = req->path + strlen(prefix);
    if (strncmp(req->path, prefix, strlen(prefix)) != 0 || !take_seg(&p, tid, sizeof tid) ||
        !take_seg(&p, user, sizeof user) || !take_seg(&p, verb, sizeof verb) || *p ||
        strcmp(verb, "reconnect") != 0)
        return reply_json(resp, 404, json_pack("{s:s}", "error", "not found"));
    size_t n = ops->n_tenants(ops->ud);
    for (size_t i = 0; i < n; i++) {
        tenant *t = ops->tenant_at(ops->ud, i);
        if (strcmp(tenant_id(t), tid) != 0)
            continue;
        int k = tenant_reconnect(t, user);
        if (k == 0)
            break;
        return reply_json(resp, 202, json_pack("{s:s,s:s,s:i}", "tenant", tid, "user", user,
                                               "reconnecting", k));
    }
    return reply_json(resp, 404, json_pack("{s:s}", "error", "no such tenant or user"));
}

/* Adds the routes (adminv1.h). */
int adminv1_register(admin *a, const adminv1_ops *ops)
{
    int rc = admin_route_add(a, "GET", "/v1/tenants", h_tenants, (void *)ops);
    if (rc == 0)
        rc = admin_route_add(a, "POST", "/v1/reload", h_reload, (void *)ops);
    if (rc == 0)
        rc = admin_route_add(a, "POST", "/v1/sessions/*", h_reconnect, (void *)ops);
    return rc;
}
