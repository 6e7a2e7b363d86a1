import CSV
import Foundation

/// The public camera register: for each public camera, where it is, who runs it and why.
///
/// Built from an allow-list of fields, so nothing private can slip in when the registry grows:
/// never a URL, host, port, path, credential, model or firmware. Ordered by camera id.
public struct PublicRegister: Sendable {
    /// One camera as the public sees it.
    public struct Entry: Sendable, Equatable, Codable {
        public var id: String
        public var name: String
        public var municipality: String
        public var address: String?
        public var latitude: Double
        public var longitude: Double
        public var operatorName: String
        public var purpose: String
        public var legalBasis: String?
        public var retentionDays: Int?
        public var viewDirection: Double?
        public var enabled: Bool
        /// The declaration fields (see ``Camera``): all public by law.
        public var placeType: String?
        public var mount: String?
        public var pictogram: Bool?
        public var contact: String?
        public var declared: String?
        /// What allows a retention above the legal maximum (see ``Camera/legalException``).
        public var legalException: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case id, name, municipality, address, latitude, longitude
            case operatorName = "operator"
            case purpose
            case legalBasis = "legal_basis"
            case retentionDays = "retention_days"
            case viewDirection = "view_direction"
            case enabled
            case placeType = "place_type"
            case mount, pictogram, contact, declared
            case legalException = "legal_exception"
        }

        /// Every field is written, absent ones as null, so consumers see the same keys for every camera.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(municipality, forKey: .municipality)
            try container.encode(address, forKey: .address)
            try container.encode(latitude, forKey: .latitude)
            try container.encode(longitude, forKey: .longitude)
            try container.encode(operatorName, forKey: .operatorName)
            try container.encode(purpose, forKey: .purpose)
            try container.encode(legalBasis, forKey: .legalBasis)
            try container.encode(retentionDays, forKey: .retentionDays)
            try container.encode(viewDirection, forKey: .viewDirection)
            try container.encode(enabled, forKey: .enabled)
            try container.encode(placeType, forKey: .placeType)
            try container.encode(mount, forKey: .mount)
            try container.encode(pictogram, forKey: .pictogram)
            try container.encode(contact, forKey: .contact)
            try container.encode(declared, forKey: .declared)
            try container.encode(legalException, forKey: .legalException)
        }

        /// The public fields of `camera` (whether or not it is listed in the register).
        public init(_ camera: Camera) {
            id = camera.id
            name = camera.name
            municipality = camera.municipality
            address = camera.address
            latitude = camera.latitude
            longitude = camera.longitude
            operatorName = camera.operatorName
            purpose = camera.purpose
            legalBasis = camera.legalBasis
            retentionDays = camera.retentionDays
            viewDirection = camera.viewDirection
            enabled = camera.enabled
            placeType = camera.placeType
            mount = camera.mount
            pictogram = camera.pictogram
            contact = camera.contact
            declared = camera.declared
            legalException = camera.legalException
        }
    }

    /// Export formats.
    public enum Format: String, Sendable, CaseIterable {
        case json, csv, geojson
    }

    public let entries: [Entry]

    /// The public cameras among `cameras`, by id.
    public init(cameras: [Camera]) {
        entries = cameras.filter(\.isPublic).sorted { $0.id < $1.id }.map(Entry.init)
    }

    /// The register in `format`, ready to write to a file.
    public func render(_ format: Format) throws -> Data {
        switch format {
        case .json:
            return try Self.encoder.encode(entries) + Data("\n".utf8)
        case .geojson:
            return try Self.encoder.encode(FeatureCollection(features: entries.map(Feature.init))) + Data("\n".utf8)
        case .csv:
            return try csv()
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    private func csv() throws -> Data {
        let stream = OutputStream.toMemory()
        let writer = try CSVWriter(stream: stream)
        try writer.write(row: Entry.CodingKeys.allCases.map(\.rawValue))
        for entry in entries {
            let text = [entry.id, entry.name, entry.municipality, entry.address ?? ""].map(Self.inertCell)
            try writer.write(row: text + [
                "\(entry.latitude)", "\(entry.longitude)", Self.inertCell(entry.operatorName),
                Self.inertCell(entry.purpose), Self.inertCell(entry.legalBasis ?? ""),
                entry.retentionDays.map(String.init) ?? "", entry.viewDirection.map { "\($0)" } ?? "",
                entry.enabled ? "true" : "false", entry.placeType ?? "", entry.mount ?? "",
                entry.pictogram.map { $0 ? "true" : "false" } ?? "", Self.inertCell(entry.contact ?? ""),
                entry.declared ?? "", Self.inertCell(entry.legalException ?? ""),
            ])
        }
        writer.stream.close()
        var data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        data.append(contentsOf: "\n".utf8)
        return data
    }

    /// A text cell that a spreadsheet will not run as a formula: one starting with `=`, `+`, `-`,
    /// `@`, a tab or a carriage return gets a leading `'` (OWASP's CSV-injection advice). The number
    /// columns are written as numbers and never pass through here.
    static func inertCell(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
        return "'" + text
    }

    /// RFC 7946 FeatureCollection of Points, coordinates `[longitude, latitude]`.
    private struct FeatureCollection: Encodable {
        let type = "FeatureCollection"
        let features: [Feature]
    }

    private struct Feature: Encodable {
        struct Point: Encodable {
            let type = "Point"
            let coordinates: [Double]
        }

        let type = "Feature"
        let id: String
        let geometry: Point
        let properties: Properties

        init(_ entry: Entry) {
            id = entry.id
            geometry = Point(coordinates: [entry.longitude, entry.latitude])
            properties = Properties(entry: entry)
        }
    }

    /// A feature's properties: the public fields, plus OpenStreetMap's surveillance tags so the
    /// register can be compared with the map (`man_made=surveillance`, `surveillance=*`,
    /// `surveillance:type=camera`, `camera:type=fixed` for a fixed camera, `camera:direction`).
    /// OSM's `camera:mount` (wall, pole, ceiling) is not recorded by Vigil and is left out.
    private struct Properties: Encodable {
        let entry: Entry

        enum OSMKey: String, CodingKey {
            case manMade = "man_made", surveillance, surveillanceType = "surveillance:type"
            case cameraType = "camera:type", cameraDirection = "camera:direction"
        }

        /// OSM's `surveillance` value: a public street is `public`; an enclosed place open to the
        /// public (a shop, a station hall) is `indoor`; an enclosed private place (a depot's yard) `outdoor`.
        static let surveillance: [String: String] = [
            Camera.PlaceType.open.rawValue: "public", Camera.PlaceType.enclosedPublic.rawValue: "indoor",
            Camera.PlaceType.enclosedPrivate.rawValue: "outdoor",
        ]

        func encode(to encoder: any Encoder) throws {
            try entry.encode(to: encoder)
            var tags = encoder.container(keyedBy: OSMKey.self)
            try tags.encode("surveillance", forKey: .manMade)
            try tags.encode("camera", forKey: .surveillanceType)
            try tags.encodeIfPresent(entry.placeType.flatMap { Self.surveillance[$0] }, forKey: .surveillance)
            if entry.mount == Camera.Mount.fixed.rawValue { try tags.encode("fixed", forKey: .cameraType) }
            try tags.encodeIfPresent(entry.viewDirection.map { Int($0.rounded()) % 360 }, forKey: .cameraDirection)
        }
    }
}
