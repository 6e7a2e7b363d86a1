import Foundation
import Testing
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("snapshot store: files, modes and retention")
struct SnapshotStoreTests {
    static let day: Double = 86_400

    @Test("a snapshot is written 0640 under <camera>/<UTC date>/<event>.jpg, leaving no temporary file")
    func savesUnderCameraAndDate() throws {
        let root = try TemporaryDirectory()
        let store = SnapshotStore(directory: root.url.appendingPathComponent("snapshots"), maxAge: .seconds(Self.day),
                                  maxBytes: 1000)
        let time = try #require(ISO8601DateFormatter().date(from: "2026-11-03T23:59:30Z"))
        let path = try store.save([0xFF, 0xD8, 1, 2, 3], camera: "gate", event: "E1", at: time)
        #expect(path == root.path + "/snapshots/gate/2026-11-03/E1.jpg")
        #expect(FileManager.default.contents(atPath: path) == Data([0xFF, 0xD8, 1, 2, 3]))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/snapshots/gate/2026-11-03") == ["E1.jpg"])
    }

    @Test("pruning removes files past the age, then the oldest beyond the size cap, then empty day directories")
    func prunesByAgeAndSize() throws {
        let root = try TemporaryDirectory()
        let now = Date()
        let store = SnapshotStore(directory: root.url, maxAge: .seconds(30 * Self.day), maxBytes: 2500)
        // Five 1000-byte files, 40, 20, 3, 2 and 1 days old, in two cameras and several days.
        let files = [("a", "old", 40.0), ("a", "older-day", 20), ("b", "mid", 3), ("a", "new", 2), ("b", "newest", 1)]
        for (camera, name, age) in files {
            let modified = now.addingTimeInterval(-age * Self.day)
            let path = try store.save([UInt8](repeating: 7, count: 1000), camera: camera, event: name, at: modified)
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        let pass = store.prune(now: now)
        #expect(pass == SnapshotStore.Pruning(removedFiles: 3, removedBytes: 3000, keptFiles: 2, keptBytes: 2000))
        let left = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".jpg") }.map { ($0 as NSString).lastPathComponent }.sorted()
        #expect(left == ["new.jpg", "newest.jpg"])
        // The day directories of the removed files are gone; the cameras' directories stay.
        for camera in ["a", "b"] {
            let days = try FileManager.default.contentsOfDirectory(atPath: root.path + "/" + camera)
            #expect(days.count == 1, "\(camera): \(days)")
        }
        #expect(store.prune(now: now) == SnapshotStore.Pruning(keptFiles: 2, keptBytes: 2000))
    }

    @Test("pruning a directory that does not exist yet does nothing")
    func missingDirectory() throws {
        let root = try TemporaryDirectory()
        let store = SnapshotStore(directory: root.url.appendingPathComponent("none"), maxAge: .seconds(Self.day),
                                  maxBytes: 1)
        #expect(store.prune() == SnapshotStore.Pruning())
    }

    @Test("a symbolic link anywhere under the snapshot directory is never written through nor pruned through")
    func symbolicLinks() throws {
        let root = try TemporaryDirectory()
        let outside = root.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let oldFile = outside + "/precious.jpg"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: oldFile))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -90 * Self.day)], ofItemAtPath: oldFile)
        let time = try #require(ISO8601DateFormatter().date(from: "2026-11-03T12:00:00Z"))
        let snapshots = root.path + "/snapshots"
        let store = SnapshotStore(directory: URL(fileURLWithPath: snapshots), maxAge: .seconds(Self.day), maxBytes: 1 << 20)
        try FileManager.default.createDirectory(atPath: snapshots + "/lobby", withIntermediateDirectories: true)
        // The camera's directory, a day directory, and (another store) the snapshot directory itself.
        try FileManager.default.createSymbolicLink(atPath: snapshots + "/gate", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: snapshots + "/lobby/2026-11-03", withDestinationPath: outside)
        let linked = root.path + "/linked"
        try FileManager.default.createSymbolicLink(atPath: linked, withDestinationPath: outside)
        let linkedStore = SnapshotStore(directory: URL(fileURLWithPath: linked), maxAge: .seconds(Self.day), maxBytes: 1 << 20)
        let attempts: [(SnapshotStore, String, String)] = [
            (store, "gate", snapshots + "/gate"), (store, "lobby", snapshots + "/lobby/2026-11-03"), (linkedStore, "gate", linked),
        ]
        for (target, camera, link) in attempts {
            #expect {
                try target.save([0xFF, 0xD8], camera: camera, event: "E1", at: time)
            } throws: { error in
                "\(error)" == "\(link) is a symbolic link: snapshots are never written through one; replace it with a directory"
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["precious.jpg"])
        _ = store.prune()
        _ = linkedStore.prune()
        #expect(FileManager.default.fileExists(atPath: oldFile), "pruning followed a link")
        #expect(try store.save([0xFF, 0xD8], camera: "ok", event: "E2", at: time) == snapshots + "/ok/2026-11-03/E2.jpg")
    }
}
