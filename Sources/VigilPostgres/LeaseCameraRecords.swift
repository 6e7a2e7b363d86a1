import Foundation
import PostgresNIO
import VigilStore

/// The registry rows a lease-holding node needs: the held cameras' records with their connect URLs,
/// and the registry's generation. A minimal read of the `cameras` tables for the daemon's
/// lease-filtered camera source (the full registry is `ClusterRegistry`).
extension CameraLeases {
    /// The cameras of `ids` that exist, ordered by id, with their credentials joined into the URLs.
    public func watchedCameras(_ ids: [String]) async throws(ClusterError) -> [WatchedCamera] {
        guard !ids.isEmpty else { return [] }
        do {
            var cameras: [WatchedCamera] = []
            let rows = try await database.client.query("""
                SELECT c.record::text, cc.username, cc.password FROM cameras c
                LEFT JOIN camera_credentials cc ON cc.camera_id = c.id
                WHERE c.id = ANY(\(ids)) ORDER BY c.id
                """)
            for try await (record, username, password) in rows.decode((String, String?, String?).self) {
                let camera = try Self.recordDecoder.decode(Camera.self, from: Data(record.utf8))
                let credentials = username.map { CameraCredentials(username: $0, password: password ?? "") }
                cameras.append(WatchedCamera(
                    camera: camera, streamURL: StreamAddress.connectURL(for: camera.streamURL, with: credentials),
                    detectURL: camera.detectURL.map { StreamAddress.connectURL(for: $0, with: credentials) },
                    credentials: credentials))
            }
            return cameras
        } catch {
            throw ClusterError(doing: "cannot read the cameras of node '\(node)' from the cluster \(database.url)", error)
        }
    }

    /// Reads a `cameras.record`: `Camera` as JSON, its dates as numbers (Foundation's default) or ISO 8601.
    static var recordDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            if let seconds = try? container.decode(Double.self) { return Date(timeIntervalSinceReferenceDate: seconds) }
            let text = try container.decode(String.self)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a date: \(text)")
        }
        return decoder
    }

    /// The registry's generation (moves on every change of a camera or its credentials).
    public func registryGeneration() async throws(ClusterError) -> Int64 {
        do {
            var value: Int64 = 0
            for try await generation in try await database.client.query("SELECT value FROM registry_generation")
                .decode(Int64.self) {
                value = generation
            }
            return value
        } catch {
            throw ClusterError(doing: "cannot read the registry generation from the cluster \(database.url)", error)
        }
    }
}
