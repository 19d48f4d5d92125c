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
  SIGNER_ASSIGN_OR_RETURN(auto store, RocksDbStore::Open(data_dir, options));
  base::Status bound = BindGenesis(*store, genesis);
  if (!bound.ok()) return bound;
  return store;
}

base::Result<std::string> AdminExport(const std::string& data_dir, const base::Hash256& genesis,
                                      const ExportWindow& window) {
  SIGNER_ASSIGN_OR_RETURN(auto store, OpenExisting(data_dir));
  SIGNER_ASSIGN_OR_RETURN(auto exported, ExportHistory(*store, genesis, window));
  return SerializeInterchange(exported);
}

base::Result<ImportReport> AdminImport(const std::string& data_dir, const base::Hash256& genesis,
                                       std::string_view json) {
  // Parse before opening so a bad file never creates or touches a data directory.
  SIGNER_ASSIGN_OR_RETURN(auto parsed, ParseInterchange(json));
  if (parsed.genesis_hash != genesis) {
    return base::Status::FailedPrecondition("interchange file is for another genesis hash");
  }
  SIGNER_ASSIGN_OR_RETURN(auto store, RocksDbStore::Open(data_dir, RocksDbStoreOptions{}));
  return ImportHistory(*store, genesis, parsed);
}

base::Result<HistorySummary> AdminInspect(const std::string& data_dir) {
  SIGNER_ASSIGN_OR_RETURN(auto store, OpenExisting(data_dir));
  return Summarize(*store);
}

base::Result<PruneReport> AdminPrune(const std::string& data_dir, const base::Hash256& genesis,
                                     Domain domain, const Watermark& below) {
  SIGNER_ASSIGN_OR_RETURN(auto store, OpenExisting(data_dir));
  SIGNER_ASSIGN_OR_RETURN(auto bound, ReadGenesis(*store));
  if (!bound.has_value() || *bound != genesis) {
    return base::Status::FailedPrecondition("history store is not bound to this genesis hash");
  }
  return PruneBelow(*store, domain, below);
}

}  // namespace slashing
