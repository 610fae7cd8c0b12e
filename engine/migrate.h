// The store's layout version and its upgrades. The engine calls MigrateStore when it opens a
// store: a fresh store gets the current version; a store written by an older kefu is moved to the
// current layout once, with a progress line on stderr; a store written by a newer kefu is refused.
//
// Layout 1 (kefu before the store became the authority) kept only records and rebuilt every index
// in memory at start: conversations under c/<desk>/<id>, events under e/<desk>/<id:16>, the
// knowledge loop under v/ d/ l/. Layout 2 is records.h's. The upgrade runs in two phases so that a
// crash at any point leaves a store it can resume from: phase 1 writes the layout-2 records, every
// index row and the stats rollups beside the old records (deterministic keys: running it again
// writes the same rows) and then the marker meta/migrating; phase 2 deletes the old records and
// writes meta/schema.
#ifndef KEFU_ENGINE_MIGRATE_H_
#define KEFU_ENGINE_MIGRATE_H_

#include <functional>
#include <string>

#include "base/status.h"
#include "engine/clock.h"
#include "engine/store.h"

namespace kefu {

// Brings `store` to kSchemaVersion (records.h). Timers of migrated conversations are armed at the
// clock's now (they re-arm for their real due time when they first fire). FailedPrecondition-like
// Unavailable with a clear message for a layout newer than this kefu knows; the store's errors.
// `progress` (optional) receives lines to show while an upgrade runs.
Status MigrateStore(Store* store, const Clock* clock, const std::function<void(const std::string&)>& progress = nullptr);

// The layout version of `store`: 0 when it is empty, 1 for the layout before versions were
// recorded, else the recorded one.
Result<int> StoreLayoutVersion(Store* store);

}  // namespace kefu

#endif  // KEFU_ENGINE_MIGRATE_H_
