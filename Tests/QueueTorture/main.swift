// QueueTorture: a producer for the queue's crash tests, run as its own process so that tests can
// SIGKILL it at any moment.
//
//   QueueTorture flood --state-dir DIR --record FILE [--threads N]
//       Enqueues alerts as fast as it can from N threads (motion events and health alerts on a few
//       cameras each) until killed; appends the id of every committed alert to FILE, fsynced.
//   QueueTorture open-event --state-dir DIR --camera ID
//       Enqueues one motion_started, prints "STARTED <event id>", then waits to be killed.
//   QueueTorture open --state-dir DIR
//       Opens the queue as its producer (closing events a killed producer left open), prints
//       "CLOSED <n>" and exits.

import Foundation
import Synchronization
import VigilDetector
import VigilSQLite
import VigilStore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("QueueTorture: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard !arguments.isEmpty else { fail("usage: QueueTorture flood|open-event|open --state-dir DIR ...") }
let mode = arguments.removeFirst()
var options: [String: String] = [:]
while arguments.count >= 2, arguments[0].hasPrefix("--") {
    options[String(arguments.removeFirst().dropFirst(2))] = arguments.removeFirst()
}
guard arguments.isEmpty, let stateDir = options["state-dir"] else { fail("bad arguments") }

let queue: AlertQueue
do {
    queue = try AlertQueue(directory: StateDirectory(option: stateDir), access: .produce)
} catch {
    fail(error.description)
}

/// Appends committed ids to the record file, one line each, fsynced before the next.
final class Recorder: Sendable {
    private let descriptor: Mutex<Int32>

    init(path: String) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard descriptor >= 0 else { fail("cannot open \(path)") }
        self.descriptor = Mutex(descriptor)
    }

    func record(_ id: String) {
        let line = Array((id + "\n").utf8)
        descriptor.withLock { descriptor in
            _ = write(descriptor, line, line.count)
            _ = fsync(descriptor)
        }
    }
}

/// One thread's cameras: each alternates motion_started and motion_ended, with a health alert now and then.
@Sendable func flood(_ queue: AlertQueue, thread: Int, recorder: Recorder) {
    var openEvents: [String: String] = [:]
    var generator = SystemRandomNumberGenerator()
    for round in 0... {
        let camera = "cam-\(thread)-\(round % 3)"
        let alert: Alert
        if round % 7 == 0 {
            alert = Alert(kind: Bool.random(using: &generator) ? .cameraOffline : .cameraOnline, camera: camera,
                          message: "torture round \(round)")
        } else if let event = openEvents.removeValue(forKey: camera) {
            alert = Alert(kind: .motionEnded, camera: camera, event: event, zones: ["all"], peakArea: 0.02,
                          box: PixelBox(x: 1, y: 2, width: 30, height: 40))
        } else {
            let event = AlertID.make()
            openEvents[camera] = event
            alert = Alert(kind: .motionStarted, camera: camera, event: event, zones: ["all"], peakArea: 0.01,
                          box: PixelBox(x: 1, y: 2, width: 30, height: 40))
        }
        switch try? queue.enqueue(alert) {
        case .enqueued, .coalesced: recorder.record(alert.id)
        default: break
        }
    }
}

switch mode {
case "flood":
    guard let path = options["record"] else { fail("flood needs --record FILE") }
    let recorder = Recorder(path: path)
    let threads = Int(options["threads"] ?? "2") ?? 2
    for thread in 0..<threads {
        Thread.detachNewThread { [queue] in flood(queue, thread: thread, recorder: recorder) }
    }
    while true { sleep(60) }
case "open-event":
    let event = AlertID.make()
    let alert = Alert(kind: .motionStarted, camera: options["camera"] ?? "door", event: event, zones: ["door"],
                      peakArea: 0.05, box: PixelBox(x: 5, y: 6, width: 70, height: 80))
    guard (try? queue.enqueue(alert)) == .enqueued else { fail("the motion_started was not committed") }
    FileHandle.standardOutput.write(Data("STARTED \(event)\n".utf8))
    while true { sleep(60) }
case "open":
    print("CLOSED \(queue.interruptedEvents.count)")
    queue.close()
default:
    fail("unknown mode \(mode)")
}
