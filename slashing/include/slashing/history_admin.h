// History administration on a stopped signer's data directory (what `signerctl history` calls).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "slashing/history.h"
#include "slashing/interchange.h"
#include "slashing/rocksdb_store.h"

namespace slashing {

// OpenHistory opens (creating if asked) the RocksDB history in `data_dir` and binds it to
// `genesis`. kBusy while another signer holds the directory's LOCK; kFailedPrecondition for a
// store of another chain. This is also how signerd opens its history.
base::Result<std::unique_ptr<RocksDbStore>> OpenHistory(const std::string& data_dir,
                                                        const base::Hash256& genesis,
                                                        const RocksDbStoreOptions& options = {});

// AdminExport writes the history of `data_dir` as interchange JSON. The directory must exist.
base::Result<std::string> AdminExport(const std::string& data_dir, const base::Hash256& genesis,
                                      const ExportWindow& window = {});
// AdminImport merges interchange JSON into `data_dir` (created if missing).
base::Result<ImportReport> AdminImport(const std::string& data_dir, const base::Hash256& genesis,
                                       std::string_view json);
// AdminInspect summarises `data_dir` without changing it.
base::Result<HistorySummary> AdminInspect(const std::string& data_dir);
// AdminPrune raises watermarks of `domain` to `below` and deletes older records.
base::Result<PruneReport> AdminPrune(const std::string& data_dir, const base::Hash256& genesis,
                                     Domain domain, const Watermark& below);

}  // namespace slashing
