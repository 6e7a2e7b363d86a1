import Foundation
import Logging
import Synchronization

/// The cluster database of one process, opened on first use and shared by its parts (a fleet node's
/// registry reads for HTTP and retention, and its lease keeper), closed once by its owner.
///
/// Concurrent first callers wait for the same open. A failed open is not kept: the next call tries
/// again, so a part that reads now and then (the HTTP register) answers again once the database is back.
public final class SharedClusterDatabase: Sendable {
    private let open: @Sendable () async throws(ClusterError) -> ClusterDatabase
    private let state = Mutex<State>(State())

    private struct State {
        var opening: Task<Result<ClusterDatabase, ClusterError>, Never>?
        var closed = false
    }

    /// Opens the database `cluster.database_url_file` names when first needed.
    public convenience init(urlFile: String, logger: Logger) {
        self.init { () async throws(ClusterError) in try await ClusterDatabase.open(urlFile: urlFile, logger: logger) }
    }

    /// Opens the database with `open` when first needed (tests pass their own server's URL).
    public init(open: @escaping @Sendable () async throws(ClusterError) -> ClusterDatabase) {
        self.open = open
    }

    /// The open database; opens (and migrates) it on the first call. Throws the open's one-line
    /// error, or one saying the database was closed.
    public func database() async throws(ClusterError) -> ClusterDatabase {
        let open = self.open
        let attempt = try state.withLock { state throws(ClusterError) in
            guard !state.closed else { throw ClusterError(.database, "the cluster database was closed: the node is stopping") }
            if let opening = state.opening { return opening }
            let opening = Task<Result<ClusterDatabase, ClusterError>, Never> {
                do throws(ClusterError) { return .success(try await open()) } catch { return .failure(error) }
            }
            state.opening = opening
            return opening
        }
        switch await attempt.value {
        case .success(let database):
            return database
        case .failure(let error):
            state.withLock { if $0.opening == attempt { $0.opening = nil } }
            throw error
        }
    }

    /// Drops the database (closing its pool, in the background) so that the next ``database()`` opens
    /// a new one: a pool that lost its server reconnects with a backoff growing to a minute, a new one
    /// connects as soon as the server answers. For a part that is the database's only user.
    public func reopen() {
        let opening = state.withLock { state in
            defer { state.opening = nil }
            return state.opening
        }
        guard let opening else { return }
        Task { if case .success(let database) = await opening.value { await database.close() } }
    }

    /// Closes the database if it was opened; later calls of ``database()`` fail.
    public func close() async {
        let opening = state.withLock { state in
            state.closed = true
            return state.opening
        }
        if case .success(let database)? = await opening?.value { await database.close() }
    }
}
