import Foundation
import Prometheus
import Synchronization
import VigilPipeline
import VigilSQLite
import VigilStore

/// `/metrics`: Prometheus text (swift-prometheus), every name prefixed `vigil_`, `camera` labels only for
/// the registry's cameras, no URL, host or credential anywhere. Two parts: what the daemon counts where
/// it happens through swift-metrics (frames, packets, reconnects, alerts by kind, the decode and detect
/// histograms; `vigil run` bootstraps swift-metrics onto ``PrometheusMetricsFactory/defaultRegistry``),
/// and gauges made from the status board's snapshot at scrape time (state, up, fps, bit rate, blind
/// seconds, the sinks' backlog).
final class MetricsExporter: Sendable {
    let sources: HTTPSources
    /// The snapshot directory's size, measured at most every 10 s (a walk of the directory).
    private let snapshotBytes = Mutex<(measured: Date, bytes: Int)?>(nil)

    init(sources: HTTPSources) {
        self.sources = sources
    }

    func exposition() -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        let snapshot = sources.board.snapshot()
        registry.makeGauge(name: "vigil_uptime_seconds", help: "Seconds since the daemon started")
            .set(snapshot.taken.timeIntervalSince(snapshot.started))
        for status in snapshot.cameras {  // the board's cameras follow the registry
            let camera = ("camera", status.id)
            registry.makeGauge(name: "vigil_camera_up", labels: [camera], help: "1 while the camera streams, else 0")
                .set(status.connection.delivers ? 1.0 : 0.0)
            let shown = CameraView.shown(status).state
            for state in CameraView.states.map(\.state) where state != "unknown" {
                registry.makeGauge(name: "vigil_camera_state", labels: [camera, ("state", state)],
                                   help: "1 for the state the camera is in, 0 for the others")
                    .set(state == shown ? 1.0 : 0.0)
            }
            registry.makeCounter(name: "vigil_camera_blind_seconds_total", labels: [camera],
                                 help: "Seconds without a usable picture").increment(by: status.blindSeconds)
            if let fps = status.framesPerSecond {
                registry.makeGauge(name: "vigil_camera_fps", labels: [camera], help: "Pictures per second of the stream")
                    .set(fps)
            }
            if let bits = status.bitsPerSecond {
                registry.makeGauge(name: "vigil_camera_bitrate_bits", labels: [camera],
                                   help: "Bit rate of the stream, bits per second").set(bits)
            }
        }
        for sink in snapshot.sinks {
            let label = ("sink", sink.name)
            registry.makeGauge(name: "vigil_queue_backlog", labels: [label], help: "Alerts waiting for the sink")
                .set(Double(sink.backlog))
            registry.makeGauge(name: "vigil_sink_lag_seconds", labels: [label],
                               help: "Age of the oldest alert waiting for the sink").set(sink.lagSeconds ?? 0)
            registry.makeGauge(name: "vigil_dead_letters", labels: [label], help: "Alerts the sink gave up on")
                .set(Double(sink.deadLetters))
        }
        registry.makeGauge(name: "vigil_queue_degraded", help: "1 while the alert queue is degraded")
            .set(snapshot.queueProblem == nil ? 0.0 : 1.0)
        if let directory = sources.snapshots?.directory {
            registry.makeGauge(name: "vigil_snapshot_bytes", help: "Bytes of event snapshots kept")
                .set(Double(measuredSnapshotBytes(directory)))
        }
        var text = registry.emitToBuffer()
        PrometheusMetricsFactory.defaultRegistry.emit(into: &text)
        return text
    }

    private func measuredSnapshotBytes(_ directory: URL) -> Int {
        let now = Date()
        if let cached = snapshotBytes.withLock({ $0 }), now.timeIntervalSince(cached.measured) < 10 { return cached.bytes }
        var total = 0
        if let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey]) {
            for case let url as URL in walker {
                total += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
            }
        }
        snapshotBytes.withLock { $0 = (now, total) }
        return total
    }
}
