import Metrics
import Synchronization

/// The swift-metrics series counted under a `camera` label (frames, packets, reconnects by reason),
/// made here so that the ones of a camera that left the registry can be dropped from `/metrics`
/// (``forget(keeping:)``); otherwise they would be exported, frozen, until the daemon restarts.
enum CameraSeries {
    /// Every camera with series, and the reconnect reasons counted for it.
    private static let known = Mutex<[String: Set<String>]>([:])

    static func frames(camera: String) -> Counter {
        note(camera)
        return framesCounter(camera)
    }

    static func packets(camera: String, decoded: Bool) -> Counter {
        note(camera)
        return packetsCounter(camera, decoded: decoded)
    }

    static func reconnected(camera: String, reason: String) {
        note(camera, reason: reason)
        reconnects(camera: camera, reason: reason).increment()
    }

    /// Drops the series of every camera not in `cameras`. Call it once their workers stopped: a
    /// worker still counting would count into a series no longer exported.
    static func forget(keeping cameras: Set<String>) {
        let gone = known.withLock { known in
            let gone = known.filter { !cameras.contains($0.key) }
            for camera in gone.keys { known[camera] = nil }
            return gone
        }
        for (camera, reasons) in gone {
            framesCounter(camera).destroy()
            packetsCounter(camera, decoded: true).destroy()
            packetsCounter(camera, decoded: false).destroy()
            for reason in reasons { reconnects(camera: camera, reason: reason).destroy() }
        }
    }

    /// The same label and dimensions give back the series already registered (or a new one).
    private static func framesCounter(_ camera: String) -> Counter {
        Counter(label: "vigil_camera_frames_total", dimensions: [("camera", camera)])
    }

    private static func packetsCounter(_ camera: String, decoded: Bool) -> Counter {
        Counter(label: "vigil_camera_packets_total", dimensions: [("camera", camera), ("decoded", decoded ? "true" : "false")])
    }

    private static func reconnects(camera: String, reason: String) -> Counter {
        Counter(label: "vigil_camera_reconnects_total", dimensions: [("camera", camera), ("reason", reason)])
    }

    private static func note(_ camera: String, reason: String? = nil) {
        known.withLock { known in
            if let reason { known[camera, default: []].insert(reason) } else if known[camera] == nil { known[camera] = [] }
        }
    }
}
