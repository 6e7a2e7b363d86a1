import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// The alert log's hash chain, written by a real `vigil report` and checked by `vigil alerts verify`.
@Suite("tamper-evident alert log")
struct AlertChainTests {
    /// Delivers `count` alerts through `vigil report` and waits until the log has `expected` lines.
    static func deliver(_ count: Int, to state: TestState, expected: Int) async throws {
        let queue = try state.queue(.produce)
        for index in 0..<count {
            #expect(try await queue.enqueue(index % 2 == 0 ? TestAlerts.health("cam-\(index)") : TestAlerts.started("cam-\(index)"))
                    == .enqueued)
        }
        queue.close()
        let reporter = try state.startReporter()
        #expect(await eventually(within: 20) { state.logLines().count >= expected })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
    }

    static func verify(_ state: TestState, _ logs: [String] = []) throws -> ProcessOutput {
        try runVigil(["alerts", "verify", "--state-dir", state.path] + logs.flatMap { ["--alert-log", $0] })
    }

    static func rewrite(_ url: URL, _ change: (inout [String]) -> Void) throws {
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        change(&lines)
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: url)
    }

    @Test("every line links to the one before; verify holds, then finds a changed byte, a removed line, an inserted line, a swapped pair and a truncated file")
    func tamperingIsFound() async throws {
        let state = try TestState()
        try await Self.deliver(6, to: state, expected: 6)
        let lines = state.logLines()
        #expect(lines.allSatisfy { $0.contains(#""prev":""#) })
        #expect(lines.first?.contains(#""prev":"\#(AlertChain.genesis)""#) == true)
        let ok = try Self.verify(state)
        #expect(ok.status == 0, "\(ok.stderrText)")
        #expect(ok.stdoutText == "the alert log's chain holds: 6 lines in 1 file\n")
        let original = try Data(contentsOf: state.alertLog)

        func expectBroken(_ fragment: String, _ change: (inout [String]) -> Void) throws {
            try original.write(to: state.alertLog)
            try Self.rewrite(state.alertLog, change)
            let output = try Self.verify(state)
            #expect(output.status == 1)
            #expect(output.stderrText.contains(fragment), "\(output.stderrText)")
        }
        try expectBroken("line 3 was changed") { $0[2] = $0[2].replacingOccurrences(of: "cam-2", with: "cam-9") }
        try expectBroken("line 2 was changed, or lines were removed after it") { $0.remove(at: 2) }
        // A forged alert that links to line 3, as someone who knows the scheme would write it.
        try expectBroken("line 4 was inserted") { lines in
            var forged = TestAlerts.health("cam-forged")
            forged.prev = AlertChain.hash(lines[2].utf8)
            lines.insert(forged.jsonLine(), at: 3)
        }
        try expectBroken("line 3 is out of order") { $0.swapAt(2, 3) }
        try expectBroken("lines were cut off the end") { $0.removeLast() }
        try original.write(to: state.alertLog)
        let handle = try FileHandle(forWritingTo: state.alertLog)
        try handle.truncate(atOffset: UInt64(original.count - 10))
        try handle.close()
        let cut = try Self.verify(state)
        #expect(cut.status == 1 && cut.stderrText.contains("line 6 is cut short"), "\(cut.stderrText)")
    }

    @Test("the chain continues across logrotate, also across a restart, and verify accepts the rotated pair")
    func rotation() async throws {
        let state = try TestState()
        try await Self.deliver(3, to: state, expected: 3)
        let rotated = state.alertLog.appendingPathExtension("1")
        try FileManager.default.moveItem(at: state.alertLog, to: rotated)
        // A new reporter process after the rotation: the new file links to the old one's last line. (Opening
        // the queue again also closes the event of the first batch's motion_started: 2 + 1 lines.)
        try await Self.deliver(2, to: state, expected: 3)
        let last = try String(contentsOf: rotated, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        #expect(state.logLines().first?.contains(#""prev":"\#(AlertChain.hash(last.utf8))""#) == true)
        let pair = try Self.verify(state, [rotated.path, state.alertLog.path])
        #expect(pair.status == 0, "\(pair.stderrText)")
        #expect(pair.stdoutText.hasPrefix("the alert log's chain holds: ") && pair.stdoutText.hasSuffix(" in 2 files\n"))
        let swapped = try Self.verify(state, [state.alertLog.path, rotated.path])
        #expect(swapped.status == 1)
    }

    @Test("verify walks a 200,000-line log (its speed is printed; the release build's is in docs/benchmarks.md)")
    func speed() throws {
        let directory = try TemporaryDirectory()
        let log = directory.url.appendingPathComponent("big.jsonl")
        var previous = AlertChain.genesis
        var text = ""
        text.reserveCapacity(200_000 * 200)
        let id = AlertID.make()
        for index in 0..<200_000 {
            // Shaped as the reporter writes them (keys sorted), without encoding each one.
            let line = #"{"camera":"camera-\#(index % 50)","id":"\#(id)","kind":"camera_offline","#
                + #""message":"no frame for 15 s","prev":"\#(previous)","time":"2026-12-05T12:00:00.000Z"}"#
            previous = AlertChain.hash(line.utf8)
            text += line + "\n"
        }
        try Data(text.utf8).write(to: log)
        let start = Date()
        let output = try runVigil(["alerts", "verify", "--alert-log", log.path])
        let seconds = Date().timeIntervalSince(start)
        #expect(output.status == 0, "\(output.stderrText)")
        #expect(output.stdoutText == "the alert log's chain holds: 200000 lines in 1 file\n")
        print("vigil alerts verify: 200,000 lines in \(String(format: "%.2f", seconds)) s (this build)")
    }
}
