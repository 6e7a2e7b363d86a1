import Foundation

/// What ``AlertProducer/enqueue(_:)`` did with an alert.
public enum EnqueueOutcome: Sendable, Equatable {
    /// Committed as its own alert.
    case enqueued
    /// Committed, folded into a count: the queue was full and this was a motion alert.
    case coalesced
    /// Not committed when the enqueue timeout passed (the disk is slow or full, or another process
    /// holds the lock). The alert is held in memory and committed, in order, as soon as the database
    /// accepts writes; it is lost if the process dies first. ``AlertProducer/status()`` says why.
    case delayed
}

/// The producer side's health, for the daemon's status line and watchdog.
public struct QueueStatus: Sendable, Equatable {
    /// Alerts handed over but not committed yet (in memory).
    public var held = 0
    /// Alerts committed since the queue was opened.
    public var committed = 0
    /// Motion alerts folded into counts since the queue was opened (queue or memory full).
    public var coalesced = 0
    /// Enqueue calls that returned before their commit, because of the timeout.
    public var delayed = 0
    /// When the last transaction committed.
    public var lastCommit: Date?
    /// Why the queue cannot write now ("cannot write to ...: database or disk is full"), nil when it can.
    public var problem: String?

    /// The queue cannot write: alerts wait in memory.
    public var isDegraded: Bool { problem != nil }

    public init() {}
}

/// An alert as stored in the queue: its position and its JSON line.
public struct QueuedAlert: Sendable, Equatable {
    /// The delivery position: assigned in commit order, never reused (see ``AlertDeliveryStore``
    /// for why it is not a producer's sequence number).
    public let sequence: Int64
    public let id: String
    public let camera: String
    public let kind: AlertKind
    /// The alert's JSON (``Alert/jsonLine()``), without a newline.
    public let line: String

    public init(sequence: Int64, id: String, camera: String, kind: AlertKind, line: String) {
        self.sequence = sequence
        self.id = id
        self.camera = camera
        self.kind = kind
        self.line = line
    }
}

/// An alert a sink gave up on after its retries.
public struct DeadLetter: Sendable, Equatable {
    public let sink: String
    public let failures: Int
    /// The last failure ("HTTP 503", "timed out after 10 s").
    public let reason: String
    public let deadAt: Date
    /// The alert's JSON.
    public let line: String

    public init(sink: String, failures: Int, reason: String, deadAt: Date, line: String) {
        self.sink = sink
        self.failures = failures
        self.reason = reason
        self.deadAt = deadAt
        self.line = line
    }
}
