// `kefu db`: the PostgreSQL store's schema from a terminal (engine/pg/pg_schema.h).
#ifndef KEFU_TOOLS_DB_COMMANDS_H_
#define KEFU_TOOLS_DB_COMMANDS_H_

#include <string>

namespace kefu {

struct DbMigrateArgs {
  std::string store;  // postgresql://user@host:port/db
};

// Applies the migrations the database lacks (under the same advisory lock as a starting node, so
// it is safe while nodes run or start) and prints the schema version now in place. Exit code 0;
// 1 when the database cannot be reached, a migration fails, or the schema is newer than this kefu
// knows; 2 when --store is not a PostgreSQL URI.
int RunDbMigrate(const DbMigrateArgs& args);

}  // namespace kefu

#endif  // KEFU_TOOLS_DB_COMMANDS_H_
