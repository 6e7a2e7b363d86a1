import Foundation
import Synchronization
import VigilStore

/// The command run for each alert.
public struct ExecConfiguration: Sendable {
    /// A shell command line (`/bin/sh -c`), given the alert's JSON on stdin.
    public var command: String
    /// Seconds the command may run before it is killed (and the attempt counts as failed).
    public var timeout: TimeInterval
    public var retry: RetryPolicy

    public init(command: String, timeout: TimeInterval = 10, retry: RetryPolicy = RetryPolicy()) {
        self.command = command
        self.timeout = timeout
        self.retry = retry
    }
}

/// Runs the configured command once per alert, Motion-style: the alert's JSON and a newline on
/// stdin, and `VIGIL_ALERT_ID`, `VIGIL_ALERT_KIND`, `VIGIL_ALERT_CAMERA` in its environment. Exit
/// status 0 delivers the alert. The command's output goes to the reporter's stderr.
struct ExecSink: AlertSink {
    let name = "exec"
    let batchLimit = 1
    let configuration: ExecConfiguration
    var retry: RetryPolicy { configuration.retry }

    init(configuration: ExecConfiguration) {
        self.configuration = configuration
        // A command that exits without reading stdin must not kill the reporter.
        signal(SIGPIPE, SIG_IGN)
    }

    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError) {
        for alert in alerts { try await run(for: alert) }
    }

    private func run(for alert: QueuedAlert) async throws(DeliveryError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", configuration.command]
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_ALERT_ID"] = alert.id
        environment["VIGIL_ALERT_KIND"] = alert.kind.rawValue
        environment["VIGIL_ALERT_CAMERA"] = alert.camera
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        let watch = Watch()
        let ending: (status: Int32, signalled: Bool)? = await withCheckedContinuation { continuation in
            process.terminationHandler = { finished in
                watch.ended.store(true, ordering: .sequentiallyConsistent)
                continuation.resume(returning: (finished.terminationStatus, finished.terminationReason == .uncaughtSignal))
            }
            do {
                try process.run()
            } catch {
                continuation.resume(returning: nil)
                return
            }
            try? input.fileHandleForWriting.write(contentsOf: Data((alert.line + "\n").utf8))
            try? input.fileHandleForWriting.close()
            watch.killOnTimeout(process.processIdentifier, after: configuration.timeout)
        }
        guard let ending else { throw DeliveryError("cannot run /bin/sh") }
        if watch.timedOut.load(ordering: .sequentiallyConsistent) {
            throw DeliveryError("killed after the \(configuration.timeout) s timeout")
        }
        if ending.signalled { throw DeliveryError("killed by signal \(ending.status)") }
        guard ending.status == 0 else { throw DeliveryError("exited with status \(ending.status)") }
    }
}

/// Whether a command ended, and whether its timeout fired first.
private final class Watch: Sendable {
    let ended = Atomic(false)
    let timedOut = Atomic(false)

    /// SIGTERM after `timeout` seconds, SIGKILL two seconds later, unless the command ended.
    func killOnTimeout(_ pid: Int32, after timeout: TimeInterval) {
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
            guard !ended.load(ordering: .sequentiallyConsistent) else { return }
            timedOut.store(true, ordering: .sequentiallyConsistent)
            kill(pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { [self] in
                if !ended.load(ordering: .sequentiallyConsistent) { kill(pid, SIGKILL) }
            }
        }
    }
}
