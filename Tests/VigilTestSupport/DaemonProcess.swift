import Foundation

/// `vigil run` as a real child process with its own state directory, for the daemon tests.
/// Its stderr goes to a file; the alert log is read as the operators would read it.
public final class DaemonProcess: @unchecked Sendable {
    public let state: String
    private let process = Process()
    private let stderrFile: TemporaryFile
    private let stdoutFile: TemporaryFile
    public private(set) var exitSeconds: Double?

    /// Starts `vigil run --state-dir state --config config` with `environment` added.
    public init(state: String, config: String, environment: [String: String] = [:]) throws {
        self.state = state
        stderrFile = try TemporaryFile()
        stdoutFile = try TemporaryFile()
        process.executableURL = URL(fileURLWithPath: vigilExecutable)
        process.arguments = ["run", "--state-dir", state, "--config", config]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = stderrFile.handle
        process.standardOutput = stdoutFile.handle
        try process.run()
    }

    public var processIdentifier: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var alertLogPath: String { state + "/alerts.jsonl" }

    /// Every alert in the alert log, parsed.
    public func alerts() -> [[String: Any]] {
        readAlertLog(alertLogPath)
    }

    public func alerts(kind: String, camera: String? = nil) -> [[String: Any]] {
        alerts().filter { $0["kind"] as? String == kind && (camera == nil || $0["camera"] as? String == camera) }
    }

    /// The daemon's log so far.
    public var log: String { (try? String(contentsOf: stderrFile.url, encoding: .utf8)) ?? "" }

    /// Everything the daemon wrote: stdout, stderr and the alert log.
    public var everythingWritten: Data {
        var data = (try? stdoutFile.contents()) ?? Data()
        data.append((try? stderrFile.contents()) ?? Data())
        data.append(FileManager.default.contents(atPath: alertLogPath) ?? Data())
        return data
    }

    /// Waits until `condition` holds, polling; returns the seconds it took, or nil on timeout.
    @discardableResult
    public func wait(timeout: Double, for condition: () -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition() ? Date().timeIntervalSince(start) : nil
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status (nil if it did not exit in `timeout`).
    @discardableResult
    public func terminate(timeout: Double = 10) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        let start = Date()
        Foundation.kill(process.processIdentifier, SIGTERM)
        guard wait(timeout: timeout, for: { !process.isRunning }) != nil else { return nil }
        exitSeconds = Date().timeIntervalSince(start)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL: the daemon dies at once, as in a crash or power cut of the process.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Resident memory in kB and open file descriptors, from /proc.
    public func resources() -> (rssKB: Int, fileDescriptors: Int) {
        let pid = process.processIdentifier
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (rss, fds)
    }

    deinit {
        kill()
    }
}

/// Every alert in the alert log at `path`, parsed (none when there is no log yet).
public func readAlertLog(_ path: String) -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}
