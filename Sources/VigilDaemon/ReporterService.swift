import ServiceLifecycle
import VigilReporter

/// The reporter as a Service: delivers queued alerts until the group shuts down, then writes what
/// is already queued to the alert log and returns. It shuts down after the camera workers, so the
/// `motion_ended` alerts they raise on the way out reach the log.
public struct ReporterService: Service {
    private let reporter: Reporter

    public init(reporter: Reporter) {
        self.reporter = reporter
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await reporter.run()
        } onGracefulShutdown: {
            reporter.stop()
        }
    }
}
