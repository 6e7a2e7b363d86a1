import Foundation

/// The result of running a program to completion.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs `executable` with `arguments` and waits for it; output is collected in full.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdin: Data? = nil) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let outFile = try TemporaryFile(), errFile = try TemporaryFile()
    process.standardOutput = outFile.handle
    process.standardError = errFile.handle
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    return ProcessOutput(status: process.terminationStatus, stdout: try outFile.contents(), stderr: try errFile.contents())
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

/// A program running in the background for a test (a reporter, a producer), its output in files.
/// Killed with SIGKILL when released.
public final class RunningProcess: @unchecked Sendable {
    private let process = Process()
    private let outFile: TemporaryFile
    private let errFile: TemporaryFile

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        outFile = try TemporaryFile()
        errFile = try TemporaryFile()
        process.standardOutput = outFile.handle
        process.standardError = errFile.handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var processIdentifier: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var stdoutText: String { (try? String(contentsOf: outFile.url, encoding: .utf8)) ?? "" }
    public var stderrText: String { (try? String(contentsOf: errFile.url, encoding: .utf8)) ?? "" }

    /// Sends `signal` (SIGTERM, SIGKILL, SIGHUP...).
    public func send(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// Waits for the exit; its status, or nil if still running after `timeout` seconds.
    public func waitForExit(timeout: Double) async -> Int32? {
        guard await waitUntil(timeout: timeout, { !self.process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// SIGKILL (a crash, a power cut for the process) and wait for it.
    public func kill() {
        send(SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        kill()
    }
}

/// Polls `condition` every 20 ms; false if it is still false after `timeout` seconds. Sleeps
/// without holding a thread of the cooperative pool, which other tests (and the code under test)
/// need: the pool has only as many threads as the machine has cores.
public func waitUntil(timeout: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try await condition() { return true }
        if Date() > deadline { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
}

/// Frames in a video's first video stream, counted by ffprobe decoding it.
public func ffprobeFrameCount(_ path: String) throws -> Int {
    let output = try runProcess("/usr/bin/ffprobe", [
        "-v", "error", "-count_frames", "-select_streams", "v:0",
        "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path,
    ])
    let text = output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let count = Int(text.split(separator: "\n").first ?? "") else {
        throw SupportError("ffprobe gave no frame count for \(path): \(output.stderrText)")
    }
    return count
}

/// A failure in test plumbing (not in the code under test).
public struct SupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A file in the temporary directory, removed when released.
public final class TemporaryFile {
    public let url: URL
    public let handle: FileHandle

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw SupportError("cannot create \(url.path)")
        }
        handle = try FileHandle(forUpdating: url)
    }

    public func contents() throws -> Data {
        try Data(contentsOf: url)
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}

/// A directory in the temporary directory, removed with everything in it when released.
public final class TemporaryDirectory {
    public let url: URL
    public var path: String { url.path }

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
