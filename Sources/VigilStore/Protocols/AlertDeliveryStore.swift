import Foundation

/// What the reporter's sinks use: each sink reads alerts after its own position, delivers them,
/// then acknowledges that position; an alert every sink acknowledged may be deleted.
///
/// ## The delivery position
///
/// A sink's cursor is a *delivery position* (``QueuedAlert/sequence``), and the one invariant every
/// backend must keep is:
///
/// > Positions are assigned in commit order. Once a read returned an alert at position `p`, no
/// > alert at a position `<= p` can appear later.
///
/// So "`position > acked`" never skips an alert. A producer's own sequence number does not give
/// this when several producers write at once: in PostgreSQL, `nextval()` hands out numbers at
/// insert time, so a transaction that took 41 and commits after the one that took 42 becomes
/// visible after a sink already acknowledged 42, and is never delivered. A backend therefore
/// assigns the position *at commit, by one writer at a time*:
///
/// - SQLite (`AlertQueue`): one writer thread holds the only write connection; `seq` is
///   `AUTOINCREMENT` inside its transactions, so position order is commit order.
/// - PostgreSQL: the inserting transaction takes `pg_advisory_xact_lock(<queue key>)` before it
///   draws the position from a sequence, so positions are drawn in the order the transactions
///   commit (the lock is held until commit); or producers insert without a position and a single
///   sequencer (the node holding the delivery lease) numbers committed rows in one transaction.
///
/// Acknowledging sets of ids instead of a position was rejected: a sink's state would grow with the
/// backlog, and "what is left" would be an anti-join on every read instead of one index range.
/// The contract tests (`StoreContract` in VigilTestSupport) check the invariant with producers
/// enqueueing concurrently while a sink reads and acknowledges.
public protocol AlertDeliveryStore: Sendable {
    /// Where the alerts are stored, for log lines (a file path, a database name; never a password).
    var location: String { get }

    /// Whether this store was opened for delivering (registering sinks, acknowledging).
    var canDeliver: Bool { get }

    /// Makes `names` the sinks: a new sink starts at the oldest alert still stored; a sink not named
    /// any more is forgotten, so it no longer holds alerts back. Returns each sink's position.
    func registerSinks(_ names: [String]) async throws(QueueError) -> [String: Int64]

    /// Alerts after delivery position `position`, in position order, at most `limit`.
    func alerts(after position: Int64, limit: Int) async throws(QueueError) -> [QueuedAlert]

    /// Records that `sink` delivered every alert up to and including `position`. Never moves a
    /// sink's position back.
    func acknowledge(sink: String, through position: Int64) async throws(QueueError)

    /// Moves an alert `sink` gave up on to the dead letters (`vigil alerts dead`) and acknowledges it.
    func deadLetter(_ alert: QueuedAlert, sink: String, failures: Int, reason: String) async throws(QueueError)

    /// Alerts not yet acknowledged, per sink.
    func backlog() async throws(QueueError) -> [String: Int]

    /// A count of commits: read it *before* looking for alerts, then wait with
    /// ``waitForCommit(after:timeout:)``, so that no commit goes unnoticed.
    var commitCount: UInt64 { get }

    /// Returns as soon as ``commitCount`` moved past `count` (at once if it already did), after
    /// `timeout`, or when the calling task is cancelled. A backend that cannot see every commit
    /// (another process's) lets `timeout` end the wait: the sinks then poll at that pace.
    func waitForCommit(after count: UInt64, timeout: Duration) async

    /// Deletes the alerts kept (undelivered ones and dead letters) that are past their camera's
    /// retention and whose event is not held; returns one ``Deletion`` each, for the deletion log.
    func expire(under policy: RetentionPolicy, now: Date) async throws(QueueError) -> [Deletion]
}
