import Foundation
import VigilTesting

/// `vigil run` as a real child process with its own state directory, for the daemon tests.
/// The alert log is read as the operators would read it.
public final class DaemonProcess: Sendable {
    public let state: String
    /// The running `vigil run`.
    public let process: TestProcess

    /// Starts `vigil run --state-dir state --config config` with `environment` added.
    public init(state: String, config: String, environment: [String: String] = [:]) throws {
        self.state = state
        process = try TestProcess(vigilExecutable, ["run", "--state-dir", state, "--config", config],
                                  environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    public var processIdentifier: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var alertLogPath: String { state + "/alerts.jsonl" }

    /// The alerts in the alert log, parsed; only those of `kind` and `camera` when given.
    public func alerts(kind: String? = nil, camera: String? = nil) -> [[String: Any]] {
        readAlertLog(alertLogPath).filter {
            (kind == nil || $0["kind"] as? String == kind) && (camera == nil || $0["camera"] as? String == camera)
        }
    }

    /// The daemon's log so far.
    public var log: String { process.stderrText }

    /// Everything the daemon wrote: stdout, stderr and the alert log.
    public var everythingWritten: Data {
        var data = process.stdout
        data.append(process.stderr)
        data.append(FileManager.default.contents(atPath: alertLogPath) ?? Data())
        return data
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status and the seconds the exit took
    /// (nil if it did not exit within `timeout`).
    public func terminate(timeout: Double = 10) async -> (status: Int32, seconds: Double)? {
        guard process.isRunning else { return (process.terminationStatus, 0) }
        let start = ContinuousClock.now
        process.send(SIGTERM)
        guard let status = await process.waitForExit(timeout: timeout) else { return nil }
        return (status, (ContinuousClock.now - start) / .seconds(1))
    }

    /// SIGKILL: the daemon dies at once, as in a crash or power cut of the process.
    public func kill() {
        process.kill()
    }

    /// Resident memory in kB and open file descriptors, from /proc.
    public func resources() -> (rssKB: Int, fileDescriptors: Int) {
        process.resources()
    }
}

/// Every alert in the alert log at `path`, parsed (none when there is no log yet).
public func readAlertLog(_ path: String) -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}
