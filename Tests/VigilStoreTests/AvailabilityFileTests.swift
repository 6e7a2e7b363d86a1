import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTesting

@Suite("availability file: camera days in SQLite")
struct AvailabilityFileTests {
    @Test("writes add up per camera and day, survive reopening the file, and old days are pruned")
    func addReopenPrune() async throws {
        let root = try TemporaryDirectory()
        let state = StateDirectory(option: root.path)
        do {
            let file = try AvailabilityFile(directory: state)
            try await file.add([CameraDayFigures(camera: "gate", day: "2027-01-15", watchedSeconds: 60, blindSeconds: 5),
                                CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 30, blindSeconds: 0)])
            try await file.add([CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 60, blindSeconds: 12.5),
                                CameraDayFigures(camera: "yard", day: "2027-01-05", watchedSeconds: 10, blindSeconds: 10)])
        }
        let reopened = try AvailabilityFile(directory: state)
        #expect(try await reopened.figures(since: "2027-01-01") == [
            CameraDayFigures(camera: "gate", day: "2027-01-15", watchedSeconds: 60, blindSeconds: 5),
            CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 90, blindSeconds: 12.5),
            CameraDayFigures(camera: "yard", day: "2027-01-05", watchedSeconds: 10, blindSeconds: 10)])
        #expect(try await reopened.figures(since: "2027-01-16").map(\.day) == ["2027-01-16"])
        #expect(try await reopened.prune(before: "2027-01-08") == 1)
        #expect(try await reopened.figures(since: "2000-01-01").map(\.camera) == ["gate", "gate"])
        let mode = try FileManager.default.attributesOfItem(atPath: state.file(AvailabilityFile.fileName).path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
