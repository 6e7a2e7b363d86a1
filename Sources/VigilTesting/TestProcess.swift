import Foundation
import Synchronization

/// A program run by a test (`vigil`, a helper script, a producer the test SIGKILLs): the one
/// process wrapper of the test suites. Its stdout is gathered by a reader thread (so a test can wait
/// for a line without polling), its stderr goes to a file (the daemon's log, which can be long).
/// Killed with SIGKILL when released, so a failing test leaves nothing running.
public final class TestProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output: OutputCollector
    private let errors: TemporaryFile

    /// Starts `executable` with `arguments`; `environment` replaces the test runner's when given.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        errors = try TemporaryFile()
        process.standardOutput = pipe
        process.standardError = errors.handle
        process.standardInput = input
        try process.run()
        try pipe.fileHandleForWriting.close()
        output = OutputCollector(reading: pipe.fileHandleForReading)
    }

    public var processIdentifier: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    /// The exit status (or the signal that ended it); only meaningful once `isRunning` is false.
    public var terminationStatus: Int32 { process.terminationStatus }

    /// Everything the program wrote to stdout so far.
    public var stdout: Data { output.data }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Everything the program wrote to stderr so far.
    public var stderr: Data { (try? errors.contents()) ?? Data() }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// Writes `data` to the program's stdin.
    public func write(_ data: Data) {
        input.fileHandleForWriting.write(data)
    }

    /// Closes the program's stdin (it reads end of file).
    public func closeInput() throws {
        try input.fileHandleForWriting.close()
    }

    /// Waits for (and consumes) the first stdout line starting with `prefix` that no earlier call
    /// took; throws if the program exits or `timeout` seconds pass first.
    @discardableResult
    public func nextLine(prefix: String, timeout: Double) throws -> String {
        let deadline = DispatchTime.now() + timeout
        while true {
            if let line = output.take(prefix: prefix) { return line }
            if output.ended { throw SupportError("\(executableName) exited before printing '\(prefix)'") }
            guard output.waitForMore(until: deadline) else {
                if let line = output.take(prefix: prefix) { return line }
                throw SupportError("\(executableName) printed no '\(prefix)' line within \(timeout) s")
            }
        }
    }

    /// Sends `signal` (SIGTERM, SIGKILL, SIGHUP...) if the program still runs.
    public func send(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// Waits for the exit; its status, or nil if it still runs after `timeout` seconds.
    public func waitForExit(timeout: Double) async -> Int32? {
        guard await eventually(within: timeout, { !self.process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// Blocks until the program exited and its stdout reached end of file (or 10 s after the exit,
    /// when a child it left behind still holds the pipe); returns the exit status.
    public func waitUntilExit() -> Int32 {
        process.waitUntilExit()
        _ = output.waitForEnd(until: .now() + 10)
        return process.terminationStatus
    }

    /// SIGKILL (a crash, a power cut for the process) and wait for it.
    public func kill() {
        send(SIGKILL)
        process.waitUntilExit()
    }

    /// Where the program's read position stands in the file at `path` it has open (from
    /// /proc/PID/fdinfo): how far a follower such as `vigil alerts tail -f` has read. Nil when it
    /// does not have the file open.
    public func readPosition(inFileAt path: String) -> UInt64? {
        let directory = "/proc/\(processIdentifier)/fd"
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(fd)")) == target,
                  let info = try? String(contentsOfFile: "/proc/\(processIdentifier)/fdinfo/\(fd)", encoding: .utf8),
                  let line = info.split(separator: "\n").first(where: { $0.hasPrefix("pos:") })
            else { continue }
            return UInt64(line.dropFirst("pos:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Resident memory in kB and open file descriptors, from /proc.
    public func resources() -> (rssKB: Int, fileDescriptors: Int) {
        let pid = processIdentifier
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (rss, fds)
    }

    private var executableName: String { process.executableURL?.lastPathComponent ?? "the process" }

    deinit {
        kill()
        try? input.fileHandleForWriting.close()
    }
}

/// The result of running a program to completion.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs `executable` with `arguments`, `stdin` as its input, and waits for it.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdin: Data? = nil) throws -> ProcessOutput {
    let process = try TestProcess(executable, arguments, environment: environment)
    if let stdin { process.write(stdin) }
    try process.closeInput()
    let status = process.waitUntilExit()
    return ProcessOutput(status: status, stdout: process.stdout, stderr: process.stderr)
}

/// The `vigil` executable built with the tests (override with `$VIGIL_BIN`).
public var vigilExecutable: String {
    ProcessInfo.processInfo.environment["VIGIL_BIN"] ?? productExecutable("vigil")
}

/// An executable product of this package, built next to the test runner.
public func productExecutable(_ name: String) -> String {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = runner.deletingLastPathComponent()
    // On Linux the test runner is `<products>/VigilPackageTests.xctest`; on macOS a bundle inside it.
    while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent(name).path),
        directory.pathComponents.count > 1
    {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent(name).path
}

/// Runs `vigil` with `arguments`.
public func runVigil(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
    try runProcess(vigilExecutable, arguments, environment: environment)
}

/// A child's stdout, read on a thread of its own until end of file. The thread holds only this
/// object (never the `TestProcess`), so releasing the process still kills it.
private final class OutputCollector: Sendable {
    private struct State {
        var data = Data()
        /// Complete lines not yet taken.
        var lines: [String] = []
        /// Where the line under way starts in `data`.
        var lineStart = 0
        var ended = false
    }

    private let state = Mutex(State())
    private let condition = NSCondition()

    init(reading handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                append(chunk)
                if chunk.isEmpty { break }
            }
            try? handle.close()
        }
        thread.name = "test-stdout"
        thread.start()
    }

    var data: Data { state.withLock { $0.data } }
    var ended: Bool { state.withLock { $0.ended } }

    /// Removes and returns the first complete line starting with `prefix`.
    func take(prefix: String) -> String? {
        state.withLock { state in
            guard let index = state.lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { return nil }
            return state.lines.remove(at: index)
        }
    }

    /// Waits for more output or the end; false at `deadline`.
    func waitForMore(until deadline: DispatchTime) -> Bool {
        let seen = state.withLock { ($0.data.count, $0.ended) }
        condition.lock()
        defer { condition.unlock() }
        while state.withLock({ ($0.data.count, $0.ended) }) == seen {
            guard condition.wait(until: Self.date(deadline)) else { return false }
        }
        return true
    }

    /// Waits for the end of file; false at `deadline`.
    func waitForEnd(until deadline: DispatchTime) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !ended {
            guard condition.wait(until: Self.date(deadline)) else { return ended }
        }
        return true
    }

    private func append(_ chunk: Data) {
        state.withLock { state in
            if chunk.isEmpty {
                state.ended = true
                return
            }
            let chunkStart = state.data.count
            state.data.append(chunk)
            var searchFrom = chunkStart
            while let newline = state.data[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                state.lines.append(String(decoding: state.data[state.lineStart..<newline], as: UTF8.self))
                state.lineStart = newline + 1
                searchFrom = newline + 1
            }
        }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    private static func date(_ deadline: DispatchTime) -> Date {
        Date(timeIntervalSinceNow: Double(Int64(deadline.uptimeNanoseconds) - Int64(DispatchTime.now().uptimeNanoseconds)) / 1e9)
    }
}
