// Admin operations on a data directory, each holding RocksDB's LOCK for its whole run.
#include "slashing/history_admin.h"

namespace slashing {
namespace {

base::Result<std::unique_ptr<RocksDbStore>> OpenExisting(const std::string& data_dir) {
  RocksDbStoreOptions options;
  options.create_if_missing = false;
  return RocksDbStore::Open(data_dir, options);
}

}  // namespace

base::Result<std::unique_ptr<RocksDbStore>> OpenHistory(const std::string& data_dir,
                                                        const base::Hash256& genesis,
                                                        const RocksDbStoreOptions& options) {
  auto store = RocksDbStore::Open(data_dir, options);
  if (!store.ok()) return store.status();
  base::Status bound = BindGenesis(**store, genesis);
  if (!bound.ok()) return bound;
  return store;
}

base::Result<std::string> AdminExport(const std::string& data_dir, const base::Hash256& genesis,
                                      const ExportWindow& window) {
  auto store = OpenExisting(data_dir);
  if (!store.ok()) return store.status();
  auto exported = ExportHistory(**store, genesis, window);
  if (!exported.ok()) return exported.status();
  return SerializeInterchange(*exported);
}

base::Result<ImportReport> AdminImport(const std::string& data_dir, const base::Hash256& genesis,
                                       std::string_view json) {
  // Parse before opening so a bad file never creates or touches a data directory.
  auto parsed = ParseInterchange(json);
  if (!parsed.ok()) return parsed.status();
  if (parsed->genesis_hash != genesis) {
    return base::Status::FailedPrecondition("interchange file is for another genesis hash");
  }
  auto store = RocksDbStore::Open(data_dir, RocksDbStoreOptions{});
  if (!store.ok()) return store.status();
  return ImportHistory(**store, genesis, *parsed);
}

base::Result<HistorySummary> AdminInspect(const std::string& data_dir) {
  auto store = OpenExisting(data_dir);
  if (!store.ok()) return store.status();
  return Summarize(**store);
}

base::Result<PruneReport> AdminPrune(const std::string& data_dir, const base::Hash256& genesis,
                                     Domain domain, const Watermark& below) {
  auto store = OpenExisting(data_dir);
  if (!store.ok()) return store.status();
  auto bound = ReadGenesis(**store);
  if (!bound.ok()) return bound.status();
  if (!bound->has_value() || **bound != genesis) {
    return base::Status::FailedPrecondition("history store is not bound to this genesis hash");
  }
  return PruneBelow(**store, domain, below);
}

}  // namespace slashing
