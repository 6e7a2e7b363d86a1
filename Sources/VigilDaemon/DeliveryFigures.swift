import Foundation
import Logging
import ServiceLifecycle
import VigilPipeline
import VigilReporter
import VigilStore

/// Posts the sinks' delivery figures (backlog, lag, dead letters since start) and the queue's problem, if
/// any, to the status board every `interval` until the group shuts down.
public struct DeliveryFigures: Service {
    private let queue: any AlertProducer & AlertDeliveryStore
    private let reporter: Reporter
    private let board: CameraStatusBoard
    private let interval: Duration
    private let logger: Logger

    public init(queue: any AlertProducer & AlertDeliveryStore, reporter: Reporter, board: CameraStatusBoard, interval: Duration = .seconds(2),
                logger: Logger) {
        self.queue = queue
        self.reporter = reporter
        self.board = board
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await post()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Reads the figures once and puts them on the board.
    func post() async {
        let backlog: [String: Int]
        do {
            backlog = try await queue.backlog()
        } catch {
            logger.debug("cannot read the queue's backlog: \(error)")
            return
        }
        let now = Date()
        let sinks = reporter.status().map {
            SinkFigures(name: $0.name, backlog: backlog[$0.name] ?? 0,
                        lagSeconds: $0.oldestWaiting.map { max(0, now.timeIntervalSince($0)) }, deadLetters: $0.deadLettered,
                        failing: $0.failureSummary)
        }
        board.setDelivery(sinks: sinks, queueProblem: queue.status().problem)
    }
}
