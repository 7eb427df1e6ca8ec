#ifndef GUARDHOOKS_CSQLITE_SHIM_H
#define GUARDHOOKS_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro and does not import into Swift.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_db_config is variadic; these wrap the two-int forms we use.
static inline int csqlite_db_config_int(sqlite3 *db, int op, int value, int *out) {
    return sqlite3_db_config(db, op, value, out);
}
// sqlite3_config is variadic too. Called once, before the library initializes: memory
// statistics off, so SQLite's allocator takes no global mutex on every malloc and free
// (we never read sqlite3_memory_used). Returns SQLITE_MISUSE if SQLite already started.
static inline int csqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
