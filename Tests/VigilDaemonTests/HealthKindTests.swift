import Foundation
import Testing
import VigilDetector
import VigilPipeline
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("one table from the detector's picture states to alert kinds")
struct HealthKindTests {
    @Test("every picture state of the detector has an alert kind that AlertKind.known lists (defect 6)")
    func everyStateHasAKnownKind() {
        for kind in CameraHealthKind.all {
            let alert = kind.alertKind
            #expect(alert != nil, "\(kind) has no alert kind in CameraHealthKind.mappings")
            #expect(alert.map(AlertKind.known.contains) == true, "\(alert?.rawValue ?? "-") is missing from AlertKind.known")
        }
        #expect(Set(CameraHealthKind.mappings.keys) == Set(CameraHealthKind.all))
    }

    @Test("vigil alerts tail --kind accepts every kind Vigil raises (defect 6)")
    func tailAcceptsEveryKind() throws {
        let state = try TemporaryDirectory()
        try Data().write(to: state.url.appendingPathComponent("alerts.jsonl"))
        let kinds = AlertKind.known.flatMap { ["--kind", $0.rawValue] }
        let output = try runVigil(["alerts", "tail", "--state-dir", state.path, "--alert-log", state.path + "/alerts.jsonl"] + kinds)
        #expect(output.status == 0, "\(output.stderrText)")
        let unknown = try runVigil(["alerts", "tail", "--state-dir", state.path, "--kind", "camera_sleepy"])
        #expect(unknown.status != 0 && unknown.stderrText.contains("unknown --kind 'camera_sleepy'"))
    }
}
