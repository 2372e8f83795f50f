#include "cli_store.h"

#include "fs.h"

wr_store_t *
cli_open_store (const char *root, const char *store_dir, wr_error_t *err)
{
    if (wr_mkdir_p (root, 0711, err) < 0) {
        wr_error_prefix (err, "create the state directory");
        return NULL;
    }
    return wr_store_open (store_dir, err);
}
