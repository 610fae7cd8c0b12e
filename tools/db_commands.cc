#include "tools/db_commands.h"

#include <cstdio>

#include "engine/pg/pg_connection.h"
#include "engine/pg/pg_schema.h"
#include "engine/pg/pg_store.h"

namespace kefu {

int RunDbMigrate(const DbMigrateArgs& args) {
  if (!IsPostgresUri(args.store)) {
    std::fprintf(stderr, "kefu db migrate: --store must be a postgresql:// URI, got \"%s\"\n",
                 args.store.c_str());
    return 2;
  }
  Result<std::unique_ptr<PgConnection>> conn =
      PgConnection::Connect(args.store, /*connect_timeout_seconds=*/10);
  Result<int> before = conn.ok() ? ReadPgSchemaVersion(**conn) : Result<int>(conn.status());
  Result<int> after = before.ok() ? MigratePgSchema(**conn) : before;
  if (!after.ok()) {
    std::fprintf(stderr, "kefu db migrate: %s\n", after.status().ToString().c_str());
    return 1;
  }
  if (*after == *before) {
    std::printf("kefu db migrate: schema version %d (already current)\n", *after);
  } else {
    std::printf("kefu db migrate: schema version %d (was %d)\n", *after, *before);
  }
  return 0;
}

}  // namespace kefu
