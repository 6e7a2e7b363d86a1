import Foundation
import VigilStore

/// What a camera still lacks for its declaration under the camera law, or what is overdue:
/// the declaration itself (renewed every year), the pictogram, the declaration fields, and a
/// retention beyond the legal month.
public struct DeclarationCheck: Sendable {
    /// One camera's problems, in words; empty when it is in order.
    public struct Finding: Sendable, Equatable, Encodable {
        public let camera: String
        public let problems: [String]
        /// Evidence holds active on this camera's events: kept past its retention while held.
        public let holds: Int
    }

    /// Images may be kept one month at most (longer only as evidence, or where a royal decree allows).
    public static let legalRetentionDays = Camera.defaultRetentionDays
    /// A declaration is renewed every year.
    public static let declarationValidDays = 365

    public let findings: [Finding]

    /// Checks every enabled camera as of `today`; `holds` counts the active evidence holds per camera.
    public init(cameras: [Camera], holds: [String: Int] = [:], today: Date = Date()) {
        findings = cameras.filter(\.enabled).map {
            Finding(camera: $0.id, problems: Self.problems(of: $0, today: today), holds: holds[$0.id] ?? 0)
        }
    }

    /// The cameras that need attention.
    public var failing: [Finding] { findings.filter { !$0.problems.isEmpty } }

    static func problems(of camera: Camera, today: Date) -> [String] {
        var problems: [String] = []
        if let declared = camera.declared, let day = UTCDay.parse(declared) {
            let age = Int(today.timeIntervalSince(day) / 86_400)
            if age > declarationValidDays {
                problems.append("declared \(declared), \(age) days ago: renew the declaration (yearly)")
            }
        } else {
            problems.append("no declaration date: declare the camera, then set --declared YYYY-MM-DD")
        }
        if camera.pictogram != true {
            problems.append(camera.pictogram == nil ? "pictogram not recorded: place it, then set --pictogram true"
                                                    : "no pictogram placed")
        }
        if camera.placeType == nil { problems.append("no place type (--place-type open|enclosed-public|enclosed-private)") }
        if camera.mount == nil { problems.append("no mount (--mount fixed|temporary|mobile)") }
        if camera.contact == nil { problems.append("no data-protection contact (--contact)") }
        let retention = camera.effectiveRetentionDays
        if retention > legalRetentionDays, camera.legalException == nil {
            problems.append("retention \(retention) days is over the legal month (\(legalRetentionDays) days): "
                            + "lower it, or name what allows it with --legal-exception")
        }
        return problems
    }
}
