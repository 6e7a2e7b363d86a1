import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("the webhook and exec sinks")
struct WebhookTests {
    /// A config file with a webhook section, and the URL file it names.
    private func webhookConfig(_ state: TestState, url: String, retry: String) throws -> String {
        let urlFile = state.root.path + "/webhook-url"
        try Data((url + "\n").utf8).write(to: URL(fileURLWithPath: urlFile))
        let config = state.root.path + "/vigil.yaml"
        try Data("reporter:\n  webhook:\n    url_file: \(urlFile)\n\(retry)".utf8).write(to: URL(fileURLWithPath: config))
        return config
    }

    @Test("a webhook failing its first requests gets every alert, in order per camera, duplicates only under the same key, and the log never waits for it")
    func webhookDelivery() async throws {
        let state = try TestState()
        let server = try WebhookTestServer(failFirst: 4)
        let secret = "s3cr3t-token-\(UInt32.random(in: 1000...9999))"
        let config = try webhookConfig(state, url: server.url(path: "hook/\(secret)"),
                                       retry: "    initial_backoff: 0.4\n    max_backoff: 1\n    dead_after: 50\n")
        let queue = try state.queue(.produce)
        let reporter = try state.startReporter(["--config", config])

        // All at once, so that the webhook cannot have delivered anything before the last enqueue.
        var sent: [Alert] = []
        var open: [String: Alert] = [:]
        for index in 0..<30 {
            let camera = ["north", "south", "east"][index % 3]
            let alert: Alert
            if index % 5 == 4 {
                alert = TestAlerts.health(camera, .cameraFrozen)
            } else if let started = open.removeValue(forKey: camera) {
                alert = TestAlerts.ended(started)
            } else {
                alert = TestAlerts.started(camera)
                open[camera] = alert
            }
            #expect(try await queue.enqueue(alert) == .enqueued)
            sent.append(alert)
        }
        let enqueuedAll = Date()
        #expect(await eventually(within: 10) { state.logLines().count >= sent.count })
        #expect(try state.logAlerts() == sent)
        let allArrived = try await eventually(within: 30) {
            Set(try server.requests().filter { $0.status == 200 }.compactMap(\.key)) == Set(sent.map(\.id))
        }
        #expect(allArrived)
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        queue.close()

        let requests = try server.requests()
        // Timestamps, not when this test got to look: the log's last write against the webhook's first success.
        let logWritten = try #require(try FileManager.default.attributesOfItem(atPath: state.alertLog.path)[.modificationDate] as? Date)
        let firstDelivery = Date(timeIntervalSince1970: try #require(requests.first { $0.status == 200 }).t)
        let logDelay = logWritten.timeIntervalSince(enqueuedAll)
        #expect(logWritten < firstDelivery, "the log waited for the webhook")
        #expect(logDelay < 1.5, "the log took \(logDelay) s")
        #expect(requests.prefix(4).allSatisfy { $0.status == 503 && $0.key == sent[0].id }, "retries keep the key")
        var bodies: [String: String] = [:]
        for request in requests {
            let key = try #require(request.key)
            let alert = try Alert(jsonLine: request.body)
            #expect(alert.id == key)
            #expect(bodies[key, default: request.body] == request.body, "two bodies under one key")
            bodies[key] = request.body
        }
        var firstArrival: [String] = []
        for request in requests where request.status == 200 && !firstArrival.contains(request.key!) {
            firstArrival.append(request.key!)
        }
        for camera in ["north", "south", "east"] {
            let order = sent.filter { $0.camera == camera }.map(\.id)
            #expect(firstArrival.filter { order.contains($0) } == order, "camera \(camera) out of order")
        }
        let output = reporter.stdoutText + reporter.stderrText
        #expect(!output.contains(secret) && !output.contains(server.url()), "the webhook URL leaked: \(output)")
        print("webhook test: \(sent.count) alerts, \(requests.count) requests (\(requests.filter { $0.status == 503 }.count) answered 503), "
              + "log complete \(String(format: "%.2f", logDelay)) s after the last enqueue, "
              + "\(String(format: "%.2f", firstDelivery.timeIntervalSince(logWritten))) s before the webhook's first success")
    }

    @Test("alerts a webhook keeps refusing become dead letters shown by vigil alerts dead, without the URL")
    func deadLetters() async throws {
        let state = try TestState()
        let server = try WebhookTestServer(failFirst: 1000)
        let secret = "dead-token-\(UInt32.random(in: 1000...9999))"
        let config = try webhookConfig(state, url: server.url(path: secret),
                                       retry: "    initial_backoff: 0.05\n    max_backoff: 0.1\n    dead_after: 2\n")
        let queue = try state.queue(.produce)
        let sent = [TestAlerts.health("north"), TestAlerts.started("south"), TestAlerts.health("east", .credentialsRejected)]
        for alert in sent { #expect(try await queue.enqueue(alert) == .enqueued) }
        queue.close()
        let reporter = try state.startReporter(["--config", config])
        let reader = try state.queue(.read)
        #expect(try await eventually(within: 20) { try reader.deadLetters().count == sent.count })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        #expect(try state.logAlerts() == sent, "the log got every alert anyway")

        let human = try runVigil(["alerts", "dead", "--state-dir", state.path])
        #expect(human.status == 0)
        let lines = human.stdoutText.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.contains("webhook gave up after 2 attempts (HTTP 503)") })
        #expect(lines[2].contains("east") && lines[2].contains("credentials_rejected"))
        let json = try runVigil(["alerts", "dead", "--json", "--state-dir", state.path])
        let objects = try json.stdoutText.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.compactMap { ($0["alert"] as? [String: Any])?["id"] as? String } == sent.map(\.id))
        let output = human.stdoutText + json.stdoutText + reporter.stderrText + reporter.stdoutText
        #expect(!output.contains(secret))
    }

    @Test("the exec sink runs the command with the alert on stdin and its id in the environment")
    func execSink() async throws {
        let state = try TestState()
        let out = state.root.path + "/exec.out"
        let queue = try state.queue(.produce)
        let sent = [TestAlerts.started("north"), TestAlerts.health("south")]
        for alert in sent { #expect(try await queue.enqueue(alert) == .enqueued) }
        queue.close()
        let reporter = try state.startReporter(["--exec", "printf '%s ' \"$VIGIL_ALERT_ID\" >> \(out); cat >> \(out)"])
        let expected = sent.map { "\($0.id) \($0.jsonLine())" }.joined(separator: "\n") + "\n"
        #expect(await eventually(within: 10) { (try? String(contentsOfFile: out, encoding: .utf8)) == expected })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
    }

    @Test("an exec command that outlives its timeout is killed and counts as a failure")
    func execTimeout() async throws {
        let state = try TestState()
        let config = state.root.path + "/vigil.yaml"
        try Data("reporter:\n  exec:\n    command: sleep 30\n    timeout: 0.3\n    dead_after: 1\n".utf8)
            .write(to: URL(fileURLWithPath: config))
        let queue = try state.queue(.produce)
        #expect(try await queue.enqueue(TestAlerts.health("north")) == .enqueued)
        queue.close()
        let started = Date()
        let reporter = try state.startReporter(["--config", config])
        let reader = try state.queue(.read)
        #expect(try await eventually(within: 30) { try !reader.deadLetters().isEmpty })
        let letter = try #require(try reader.deadLetters().first)
        #expect(letter.reason == "killed after the 0.3 s timeout")
        #expect(letter.deadAt.timeIntervalSince(started) < 5, "the reporter gave up only \(letter.deadAt.timeIntervalSince(started)) s after it started")
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
    }

    /// Runs the reporter with a webhook at `url` until `count` alerts are dead letters; returns them.
    private func deadLetters(url: String, timeout: Double = 10, count: Int = 1,
                             within seconds: Double = 30) async throws -> (letters: [DeadLetter], stderr: String) {
        let state = try TestState()
        let config = try webhookConfig(state, url: url, retry: """
                timeout: \(timeout)
                initial_backoff: 0.05
                max_backoff: 0.1
                dead_after: 2

            """)
        let queue = try state.queue(.produce)
        for index in 0..<count { #expect(try await queue.enqueue(TestAlerts.health("cam\(index)")) == .enqueued) }
        queue.close()
        let reporter = try state.startReporter(["--config", config])
        let reader = try state.queue(.read)
        #expect(try await eventually(within: seconds) { try reader.deadLetters().count == count })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        return (try reader.deadLetters(), reporter.stderrText)
    }

    @Test("a webhook answering 307 or 302 is a failed attempt naming the status: the redirect target never gets the alert")
    func redirectsNotFollowed() async throws {
        let target = try WebhookTestServer(failFirst: 0)
        for status in [307, 302] {
            let redirecting = try WebhookTestServer(failFirst: 0, arguments: ["--redirect", "\(status):\(target.url(path: "elsewhere"))"])
            let (letters, stderr) = try await deadLetters(url: redirecting.url())
            #expect(letters.map(\.reason) == ["HTTP \(status): a redirect, not followed; give the webhook's final URL"])
            #expect(stderr.contains("webhook: delivery failed (attempt 1): alert"), "\(stderr)")
            #expect(stderr.contains("HTTP \(status)"))
            #expect(try redirecting.requests().count == 2)
        }
        #expect(try target.requests().isEmpty, "a redirect was followed")
    }

    @Test("a webhook redirecting to itself fails as a redirect, not as a network error")
    func redirectLoop() async throws {
        let looping = try WebhookTestServer(failFirst: 0, arguments: ["--redirect", "302:/hook"])
        let (letters, _) = try await deadLetters(url: looping.url())
        #expect(letters.first?.reason.hasPrefix("HTTP 302: a redirect") == true, "\(letters)")
        #expect(try looping.requests().count == 2, "one request per attempt")
    }

    @Test("a webhook that sends its headers and then a byte now and then fails each attempt at the timeout")
    func tricklingWebhook() async throws {
        let trickling = try WebhookTestServer(failFirst: 0, arguments: ["--trickle", "300"])
        let started = Date()
        let (letters, _) = try await deadLetters(url: trickling.url(), timeout: 1.5)
        let took = Date().timeIntervalSince(started)
        #expect(letters.first?.reason == "no whole answer within the 1.5 s timeout", "\(letters)")
        // Two attempts of 1.5 s each, plus starting the reporter; an idle timeout would never fire.
        #expect(took < 10, "two attempts took \(took) s")
        #expect(try trickling.requests().count == 2)
    }

    @Test("an exec command starts with no blocked signal and no ignored one (SIGPIPE included)")
    func execSignals() async throws {
        let state = try TestState()
        let out = state.root.path + "/signals.out"
        let queue = try state.queue(.produce)
        #expect(try await queue.enqueue(TestAlerts.health("north")) == .enqueued)
        queue.close()
        // grep is the shell's child: it shows what the command inherited.
        let reporter = try state.startReporter(["--exec", "grep -E '^Sig(Blk|Ign)' /proc/self/status > \(out).part && mv \(out).part \(out)"])
        #expect(await eventually(within: 10) { FileManager.default.fileExists(atPath: out) })
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
    }

    @Test("an exec command killed at its timeout takes everything it started along, also after the shell ended",
          arguments: ["sleep 101.{M} & sleep 102.{M}", "(trap '' TERM; sleep 101.{M}) & sleep 102.{M}"])
    func execTimeoutKillsGroup(command: String) async throws {
        let state = try TestState()
        let marker = "\(Int.random(in: 100_000...999_999))"
        let config = state.root.path + "/vigil.yaml"
        // The shell waits for the second sleep; the first runs in the background of the same group (in
        // the second case ignoring SIGTERM, which ends the shell itself).
        let line = command.replacingOccurrences(of: "{M}", with: marker)
        try Data("reporter:\n  exec:\n    command: \"\(line)\"\n    timeout: 0.3\n    dead_after: 1\n".utf8)
            .write(to: URL(fileURLWithPath: config))
        let queue = try state.queue(.produce)
        #expect(try await queue.enqueue(TestAlerts.health("north")) == .enqueued)
        queue.close()
        let reporter = try state.startReporter(["--config", config])
        let reader = try state.queue(.read)
        #expect(try await eventually(within: 30) { try !reader.deadLetters().isEmpty })
        func survivors() -> [String] {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return pids.filter { Int($0) != nil }.compactMap { pid in
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
                let line = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
                return line.contains("." + marker) ? line : nil
            }
        }
        #expect(await eventually(within: 5) { survivors().isEmpty }, "left behind: \(survivors())")
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0)
    }
}
