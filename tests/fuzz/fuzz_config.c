/* fuzz_config.c — fuzz target over the config loader: jansson parse, the
 * position index and every validator. Files named by the input (tenantsDir,
 * usersFile, secret files) resolve under a directory that does not exist,
 * so the target reads nothing from disk. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "posidx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads the input as a config, then indexes it on its own. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    kk_config *cfg = NULL;
    cfg_errors errs;
    cfg_load_text("/nonexistent-kk-fuzz/config.json", (const char *)data, size, &cfg, &errs);
    if (cfg) {
        cfg_diff d;
        if (cfg_diff_compute(cfg, cfg, &d) == 0 && d.n != 0)
            abort(); /* a config never differs from itself */
        cfg_diff_free(&d);
    }
    cfg_free(cfg);
    cfg_errors_free(&errs);
    posidx *idx = NULL;
    posidx_build((const char *)data, size, &idx);
    int line, col;
    posidx_find(idx, "/tenants/0/gateway/url", true, &line, &col);
    posidx_free(idx);
    return 0;
}
