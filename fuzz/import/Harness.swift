import Foundation
import FuzzSupport
import VigilStore

/// The import parsers on any text: CSV for inputs whose first byte is even, YAML for odd ones.
/// Rows become validated cameras or a one-line problem; an accepted camera has no control
/// character in its text fields and no credentials in its stream URL.
let fuzzImport: Harness = { data, size in
    let input = bytes(data, size)
    guard let first = input.first else { return 0 }
    let body = text(input.dropFirst())
    do throws(CameraImport.Problem) {
        let rows = first % 2 == 0
            ? try CameraImport.csvRows(body, name: "fuzz.csv") : try CameraImport.yamlRows(body, name: "fuzz.yaml")
        for (camera, credentials) in try CameraImport.cameras(from: rows, file: "fuzz", directory: "/srv/video") {
            for field in [camera.id, camera.name, camera.municipality, camera.operatorName] {
                require(!field.unicodeScalars.contains(where: TextFile.isUnprintable), "control character in \(field)")
            }
            if let password = credentials?.password, password.count >= 3 {
                require(!literallyContains(camera.streamURL, password), "password left in \(camera.streamURL)")
            }
        }
    } catch {
        require(isOneLine(error.description), "a multi-line problem: \(error.description)")
    }
    return 0
}

@main
struct ImportHarness: FuzzHarness {
    static let harness = fuzzImport
}
