import ArgumentParser
import Foundation
import VigilDetector
import VigilSQLite
import VigilStore

/// `vigil bench-queue` (hidden): alerts per second committed by the durable queue with
/// `synchronous=FULL` and `NORMAL`, for one producer thread and for several, next to the raw
/// fsync rate of the same directory measured in the same run.
struct QueueBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-queue",
        abstract: "Measure alerts per second enqueued with synchronous=FULL and NORMAL.",
        shouldDisplay: false
    )

    @Option(help: "Alerts enqueued per measurement.")
    var alerts = 2000

    @Option(help: "Producer thread counts to measure, comma-separated (each thread waits for its own commits).")
    var producers = "1,8"

    @Option(help: "Where the throwaway queues are created (default: the temporary directory); measure on the state disk.")
    var directory: String?

    func run() throws {
        try reportingFailures {
            let threadCounts = producers.split(separator: ",").compactMap { Int($0) }
            guard !threadCounts.isEmpty, threadCounts.allSatisfy({ (1...256).contains($0) }) else {
                throw Failure("--producers takes counts 1...256 like 1,8 (got \(producers))")
            }
            try checkRange("--alerts", alerts, 1...10_000_000)
            let base = URL(fileURLWithPath: directory ?? NSTemporaryDirectory(), isDirectory: true)
                .appendingPathComponent("vigil-bench-queue-\(getpid())")
            defer { try? FileManager.default.removeItem(at: base) }
            print("directory: \(base.deletingLastPathComponent().path)")
            print(String(format: "reference: write + fsync of 200 bytes: %.0f per second", try fsyncRate(in: base)))
            for durability in QueueOptions.Durability.allCases {
                for threads in threadCounts {
                    let rate = try measure(durability, threads: threads, in: base)
                    print(String(format: "synchronous=%@ %2d producer%@: %8.0f alerts/s (%d alerts)",
                                 durability.rawValue.uppercased(), threads, threads == 1 ? " " : "s", rate, alerts))
                }
            }
        }
    }

    private func measure(_ durability: QueueOptions.Durability, threads: Int, in base: URL) throws -> Double {
        let directory = StateDirectory(option: base.appendingPathComponent("\(durability)-\(threads)").path)
        var options = QueueOptions()
        options.durability = durability
        options.enqueueTimeout = 60
        let queue: AlertQueue
        do {
            queue = try AlertQueue(directory: directory, access: .produce, options: options)
        } catch {
            throw Failure(error.description)
        }
        defer { queue.close() }
        let perThread = alerts / threads
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let camera = "bench-\(thread)"
            for index in 0..<perThread {
                let event = AlertID.make()
                let alert = index % 2 == 0
                    ? Alert(kind: .motionStarted, camera: camera, event: event, zones: ["all"], peakArea: 0.01,
                            box: PixelBox(x: 10, y: 20, width: 64, height: 128))
                    : Alert(kind: .cameraOnline, camera: camera, message: "frames flow again")
                _ = try? queue.enqueue(alert)
            }
        }
        return Double(perThread * threads) / Date().timeIntervalSince(start)
    }

    private func fsyncRate(in base: URL) throws -> Double {
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let path = base.appendingPathComponent("fsync-probe").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard descriptor >= 0 else { throw Failure("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let line = [UInt8](repeating: 0x61, count: 200)
        let rounds = 200
        let start = Date()
        for _ in 0..<rounds {
            _ = write(descriptor, line, line.count)
            fsync(descriptor)
        }
        return Double(rounds) / Date().timeIntervalSince(start)
    }
}
