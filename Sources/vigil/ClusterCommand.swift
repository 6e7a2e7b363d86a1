import ArgumentParser
import Foundation
import Logging
import VigilPipeline
import VigilPostgres

/// `vigil cluster ...`: fleet mode's own commands (the fleet shares one PostgreSQL database).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Fleet mode: the nodes sharing one PostgreSQL database and their camera leases.",
        subcommands: [ClusterStatusCommand.self, ClusterMigrateCommand.self, ClusterSimulateCommand.self]
    )
}

/// Runs `body` with the cluster settings of the config at `path` and the database they name (opened,
/// migrated, and closed afterwards); a config without fleet mode or a database failure is a `Failure`.
func withCluster<T>(config path: String, _ body: (ClusterSettings, ClusterDatabase) async throws(ClusterError) -> T) async throws -> T {
    let settings = try loadConfig(path).cluster
    guard let urlFile = settings.databaseURLFile else {
        throw Failure("\(path) has no cluster.database_url_file; `vigil cluster` needs fleet mode")
    }
    let database: ClusterDatabase
    do {
        database = try await ClusterDatabase.open(urlFile: urlFile, logger: quietLogger)
    } catch {
        throw Failure(error.description)
    }
    do {
        let value = try await body(settings, database)
        await database.close()
        return value
    } catch {
        await database.close()
        throw Failure(error.description)
    }
}

/// A logger that drops everything: the cluster commands print their own one-line errors.
let quietLogger = Logger(label: "vigil.cluster") { _ in SwiftLogNoOpLogHandler() }

/// Prints `value` as one line of JSON: sorted snake_case keys, ISO 8601 dates.
func printClusterJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    encoder.keyEncodingStrategy = .convertToSnakeCase
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
