import Foundation
import Testing
import VigilDetector
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("the alert log and vigil alerts tail")
struct AlertLogTests {
    /// Alerts at fixed times (13:00 UTC on 2026-11-20 and later) for formatting tests.
    static let fixed: [Alert] = {
        let base = AlertTime.parse("2026-11-20T13:00:00.000Z")!
        var started = Alert(kind: .motionStarted, camera: "grote-markt-1", time: base, event: "01JDQ3V5K8M2X7R4T9B6C1N0PZ",
                            zones: ["entrance", "street"], peakArea: 0.0125, box: PixelBox(x: 1, y: 2, width: 3, height: 4))
        var ended = started
        ended.id = AlertID.make(at: base.addingTimeInterval(8))
        ended.kind = .motionEnded
        ended.time = base.addingTimeInterval(8)
        ended.peakArea = 0.021
        ended.interrupted = true
        started.id = AlertID.make(at: base)
        let offline = Alert(kind: .cameraOffline, camera: "station-2", time: base.addingTimeInterval(3600),
                            message: "no frame for 15 s")
        let coalesced = Alert(kind: .motionStarted, camera: "station-2", time: base.addingTimeInterval(7200),
                              event: AlertID.make(), zones: [], peakArea: 0.008, count: 12)
        return [started, ended, offline, coalesced]
    }()

    private func writeLog(_ alerts: [Alert], to url: URL, extra: String = "") throws {
        try Data((alerts.map { $0.jsonLine() + "\n" }.joined() + extra).utf8).write(to: url)
    }

    private func tail(_ arguments: [String], log: URL) throws -> ProcessOutput {
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "Europe/Brussels"
        return try runVigil(["alerts", "tail", "--alert-log", log.path] + arguments, environment: environment)
    }

    @Test("tail shows local time, camera, kind, zones and peak area, one line per alert")
    func humanFormat() async throws {
        let state = try TestState()
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
        try writeLog(Self.fixed, to: state.alertLog)
        let output = try tail([], log: state.alertLog)
        #expect(output.status == 0, "\(output.stderrText)")
        #expect(output.stdoutText == """
            2026-11-20 14:00:00  grote-markt-1     motion_started        zones entrance, street  peak 1.25%
            2026-11-20 14:00:08  grote-markt-1     motion_ended          zones entrance, street  peak 2.10%  interrupted
            2026-11-20 15:00:00  station-2         camera_offline        no frame for 15 s
            2026-11-20 16:00:00  station-2         motion_started        zones -  peak 0.80%  x12 coalesced

            """)
        let raw = try tail(["--json"], log: state.alertLog)
        #expect(raw.stdoutText == Self.fixed.map { $0.jsonLine() + "\n" }.joined())
    }

    @Test("tail filters by camera, kind and time, and limits the count")
    func filters() async throws {
        let state = try TestState()
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
        try writeLog(Self.fixed, to: state.alertLog)
        func ids(_ arguments: [String]) throws -> [String] {
            let output = try tail(["--json"] + arguments, log: state.alertLog)
            #expect(output.status == 0, "\(output.stderrText)")
            return try output.stdoutText.split(separator: "\n").map { try Alert(jsonLine: $0).id }
        }
        let all = Self.fixed.map(\.id)
        #expect(try ids(["--camera", "station-2"]) == Array(all[2...]))
        #expect(try ids(["--kind", "motion_started"]) == [all[0], all[3]])
        #expect(try ids(["--kind", "motion_ended", "--kind", "camera_offline"]) == [all[1], all[2]])
        #expect(try ids(["--since", "2026-11-20T13:30:00Z"]) == Array(all[2...]))
        #expect(try ids(["--since", "2026-11-20 15:00"]) == Array(all[2...]), "a local time (Brussels)")
        #expect(try ids(["--since", "2026-11-20T15:00:00+01:00"]) == Array(all[2...]))
        #expect(try ids(["-n", "2"]) == Array(all[2...]))
        #expect(try ids(["--camera", "grote-markt-1", "--since", "2026-11-20", "-n", "1"]) == [all[1]])
        #expect(try ids(["--since", "10m"]).isEmpty)
    }

    @Test("tail rejects bad filters and a missing log with one line")
    func badInput() async throws {
        let state = try TestState()
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
        try writeLog(Self.fixed, to: state.alertLog)
        let cases: [([String], String)] = [
            (["--kind", "motion"], "vigil: unknown --kind 'motion'; kinds: motion_started, motion_ended, camera_offline"),
            (["--since", "yesterday"], "vigil: --since 'yesterday' is not a time"),
            (["--lines=-3"], "vigil: --lines must not be negative"),
        ]
        for (arguments, start) in cases {
            let output = try tail(arguments, log: state.alertLog)
            #expect(output.status == 1)
            #expect(output.stderrText.hasPrefix(start), "\(output.stderrText)")
            #expect(output.stderrText.split(separator: "\n").count == 1)
        }
        let missing = try runVigil(["alerts", "tail", "--state-dir", state.root.path + "/nowhere"])
        #expect(missing.status == 1)
        #expect(missing.stderrText == "vigil: cannot read the alert log \(state.root.path)/nowhere/alerts.jsonl: "
                + "No such file or directory; pass --alert-log PATH or --state-dir DIR\n")
    }

    @Test("tail -f prints alerts as they are appended, also after logrotate replaced the file")
    func follow() async throws {
        let state = try TestState()
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
        try writeLog([Self.fixed[0]], to: state.alertLog)
        let follower = try TestProcess(vigilExecutable, ["alerts", "tail", "-f", "--json", "--alert-log", state.alertLog.path])
        #expect(await eventually(within: 10) { follower.stdoutText.split(separator: "\n").count == 1 })
        let handle = try FileHandle(forWritingTo: state.alertLog)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(Self.fixed[1].jsonLine().utf8))
        // Once the follower has read past the torn line (its read position in the file says so), it
        // must still have printed only the first.
        let size = try handle.offset()
        #expect(await eventually(within: 5) { (follower.readPosition(inFileAt: state.alertLog.path) ?? 0) >= size },
                "the follower never read the torn line")
        #expect(follower.stdoutText.split(separator: "\n").count == 1, "a line without its newline was printed")
        try handle.write(contentsOf: Data("\n".utf8))
        try handle.close()
        #expect(await eventually(within: 5) { follower.stdoutText.split(separator: "\n").count == 2 })
        try FileManager.default.moveItem(at: state.alertLog, to: state.alertLog.appendingPathExtension("1"))
        try writeLog([Self.fixed[2]], to: state.alertLog)
        #expect(await eventually(within: 5) { follower.stdoutText.split(separator: "\n").count == 3 })
        #expect(follower.stdoutText == Self.fixed[0...2].map { $0.jsonLine() + "\n" }.joined())
        follower.kill()
    }

    @Test("the reporter cuts a torn last line and does not write again an alert already in the log's tail")
    func repairAndDedupe() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        let first = TestAlerts.health("a"), second = TestAlerts.started("b"), third = TestAlerts.health("c")
        for alert in [first, second, third] { #expect(try await queue.enqueue(alert) == .enqueued) }
        queue.close()
        // As after a crash: `first` written but not acknowledged, `second` torn halfway.
        let torn = String(second.jsonLine().prefix(40))
        try writeLog([first], to: state.alertLog, extra: torn)
        let reporter = try state.startReporter()
        #expect(await eventually(within: 10) { state.logLines().count >= 3 })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        #expect(try state.logAlerts() == [first, second, third])
        #expect(reporter.stderrText.contains("removed a torn last line"))
    }

    @Test("SIGHUP makes the reporter reopen the alert log (logrotate)")
    func reopenOnHangup() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        let reporter = try state.startReporter()
        let before = TestAlerts.health("a")
        #expect(try await queue.enqueue(before) == .enqueued)
        #expect(await eventually(within: 10) { state.logLines().count == 1 })
        let rotated = state.alertLog.appendingPathExtension("1")
        try FileManager.default.moveItem(at: state.alertLog, to: rotated)
        reporter.send(SIGHUP)
        #expect(await eventually(within: 10) { reporter.stderrText.contains("reopened the alert log") })
        let after = TestAlerts.health("b")
        #expect(try await queue.enqueue(after) == .enqueued)
        #expect(await eventually(within: 10) { state.logLines().count == 1 })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        queue.close()
        #expect(try state.logAlerts() == [after])
        #expect(try unchained(String(contentsOf: rotated, encoding: .utf8).split(separator: "\n")) == [before])
    }

    @Test("the alert log goes to $LOGS_DIRECTORY when systemd sets it")
    func logsDirectory() async throws {
        let state = try TestState()
        let logs = state.root.path + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let queue = try state.queue(.produce)
        let alert = TestAlerts.health("a")
        #expect(try await queue.enqueue(alert) == .enqueued)
        queue.close()
        var environment = ProcessInfo.processInfo.environment
        environment["LOGS_DIRECTORY"] = logs
        let reporter = try TestProcess(vigilExecutable, ["report", "--state-dir", state.path], environment: environment)
        let path = logs + "/alerts.jsonl"
        #expect(await eventually(within: 10) {
            (try? unchained(String(contentsOfFile: path, encoding: .utf8).split(separator: "\n"))) == [alert]
        })
        reporter.send(SIGINT)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        let tailed = try runVigil(["alerts", "tail", "--json", "--state-dir", state.path], environment: environment)
        #expect(try unchained(tailed.stdoutText.split(separator: "\n")) == [alert])
    }

    @Test("vigil report and vigil run refuse, with one line and untouched, a file that is not an alert log and a symbolic link")
    func refusesForeignFiles() async throws {
        let state = try TestState()
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
        let alert = Self.fixed[2].jsonLine()
        let realLog = state.root.path + "/real.jsonl"
        try Data((alert + "\n").utf8).write(to: URL(fileURLWithPath: realLog))
        let link = state.root.path + "/link.jsonl"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: realLog)
        let cases: [(name: String, content: String?, error: String)] = [
            ("notes.json", #"{"a":1}"#, "is not a Vigil alert log (it does not start with an alert)"),
            ("lines.json", "{\"a\":1}\n{\"b\":2}\n", "is not a Vigil alert log (its first line is not an alert)"),
            ("torn.jsonl", "\(alert)\nnot json\n{\"camera\":\"x", "its last line is cut short and the line before it is not an alert"),
            ("link.jsonl", nil, "is a symbolic link; Vigil does not write through one"),
        ]
        for (name, content, error) in cases {
            let path = state.root.path + "/" + name
            if let content { try Data(content.utf8).write(to: URL(fileURLWithPath: path)) }
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let reporter = try TestProcess(vigilExecutable, ["report", "--state-dir", state.path, "--alert-log", path])
            let status = await reporter.waitForExit(timeout: 20)
            if status == nil { reporter.kill() }
            #expect(status == 1, "\(name): \(reporter.stderrText)")
            #expect(reporter.stderrText.hasPrefix("vigil: ") && reporter.stderrText.contains(error), "\(name): \(reporter.stderrText)")
            #expect(reporter.stderrText.split(separator: "\n").count == 1, "\(reporter.stderrText)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(name) was changed")
        }
        let daemon = try TestProcess(vigilExecutable, ["run", "--state-dir", state.path, "--alert-log", link])
        let status = await daemon.waitForExit(timeout: 30)
        if status == nil { daemon.kill() }
        #expect(status == 1)
        #expect(daemon.stderrText.contains("is a symbolic link; Vigil does not write through one"), "\(daemon.stderrText)")
        #expect(try String(contentsOfFile: realLog, encoding: .utf8) == alert + "\n")
        #expect(!FileManager.default.fileExists(atPath: state.alertLog.path))
    }

    @Test("a log whose only line was torn by a crash during the first write is repaired")
    func tornFirstLine() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        let alert = TestAlerts.started("b")
        #expect(try await queue.enqueue(alert) == .enqueued)
        queue.close()
        try writeLog([], to: state.alertLog, extra: String(alert.jsonLine().prefix(30)))
        let reporter = try state.startReporter()
        #expect(await eventually(within: 10) { (try? state.logAlerts()) == [alert] })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        #expect(try state.logAlerts() == [alert])
        #expect(reporter.stderrText.contains("removed a torn last line (30 bytes)"))
    }
}
