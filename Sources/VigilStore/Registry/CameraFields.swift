import Foundation

/// Camera fields as text, from command-line options or one row of an import file, turned into a
/// validated `Camera` in one place so add, update and import accept and reject exactly the same things.
///
/// Field names are the command-line option names (`detect-url`, `legal-basis`, ...); import files may
/// write them with `_` instead of `-`.
public struct CameraFields: Sendable {
    /// Every field name accepted.
    public static let names = [
        "id", "name", "url", "detect-url", "lat", "lon", "address", "municipality", "operator", "purpose", "public",
        "legal-basis", "retention-days", "view-direction", "enabled", "model", "firmware", "username", "password-file",
        "place-type", "mount", "pictogram", "contact", "declared", "legal-exception",
    ]

    public private(set) var values: [String: String] = [:]

    public init() {}

    /// Sets a field; `name` may use `_` for `-`. Throws for a name that is not a camera field.
    public mutating func set(_ name: String, _ value: String?) throws(FieldProblem) {
        let canonical = Self.canonicalName(name)
        guard Self.names.contains(canonical) else {
            throw FieldProblem(field: name, message: "unknown field '\(TextFile.quoted(name))'; known fields: "
                               + Self.names.joined(separator: ", "))
        }
        values[canonical] = value
    }

    /// `name` as the field is known: lowercase, `-` for `_`.
    public static func canonicalName(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// A field that cannot be used. `description` names the field and the bad value (never a password).
    public struct FieldProblem: Error, CustomStringConvertible, Equatable {
        public let field: String
        public let message: String
        public var description: String { message }
    }

    /// The camera these fields describe: a new one, or `existing` with the given fields changed.
    /// Relative file paths resolve against `directory`. Returns the credentials found in the URL
    /// or given by `username` + `password-file`; nil when none were given.
    public func camera(updating existing: Camera? = nil, directory: String = FileManager.default.currentDirectoryPath)
        throws(FieldProblem) -> (camera: Camera, credentials: CameraCredentials?)
    {
        func text(_ field: String) -> String? {
            values[field].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func required(_ field: String, _ current: String?) throws(FieldProblem) -> String {
            guard let value = text(field) ?? current else {
                throw FieldProblem(field: field, message: "--\(field) is required")
            }
            return value
        }
        func number(_ field: String, in range: ClosedRange<Double>, _ current: Double?) throws(FieldProblem) -> Double? {
            guard let raw = text(field) else { return current }
            // Decimal notation only: Swift's Double("0x10") is 16, Double("inf") is infinity.
            guard raw.allSatisfy({ "0123456789.+-eE".contains($0) }), let value = Double(raw), range.contains(value)
            else {
                throw FieldProblem(field: field, message: "\(field) '\(TextFile.quoted(raw))' is not a number in "
                                   + "\(range.lowerBound.formatted())...\(range.upperBound.formatted())")
            }
            return value
        }
        func wholeNumber(_ field: String, in range: ClosedRange<Int>, _ current: Int?) throws(FieldProblem) -> Int? {
            guard let raw = text(field) else { return current }
            guard raw.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(raw), range.contains(value) else {
                throw FieldProblem(field: field, message: "\(field) '\(TextFile.quoted(raw))' is not a whole number in "
                                   + "\(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func requiredNumber(_ field: String, in range: ClosedRange<Double>, _ current: Double?) throws(FieldProblem)
            -> Double
        {
            guard let value = try number(field, in: range, current) else {
                throw FieldProblem(field: field, message: "--\(field) is required")
            }
            return value
        }

        for field in Self.textFields {
            // Free text may span lines (an address on two); nothing else may hold a control character.
            let allowed: Set<Unicode.Scalar> = ["address", "purpose"].contains(field) ? ["\n", "\r"] : []
            if let value = values[field],
                let bad = value.unicodeScalars.first(where: { TextFile.isUnprintable($0) && !allowed.contains($0) })
            {
                throw FieldProblem(field: field, message: "\(field) contains the control character "
                                   + "U+\(String(format: "%04X", bad.value)); remove it")
            }
        }
        let id = try required("id", existing?.id)
        guard id.range(of: #"^[a-z0-9][a-z0-9-]{0,62}$"#, options: .regularExpression) != nil else {
            throw FieldProblem(field: "id", message: "id '\(TextFile.quoted(id))' must be a slug: lowercase letters, digits and '-', "
                               + "up to 63 characters, e.g. grote-markt-1")
        }
        var credentials: CameraCredentials?
        let streamURL: String
        if let raw = text("url") {
            let parsed = try address(raw, field: "url", directory: directory)
            streamURL = parsed.address
            credentials = parsed.credentials
        } else {
            streamURL = try required("url", existing?.streamURL)
        }
        var detectURL = existing?.detectURL
        if let raw = text("detect-url") {
            let parsed = try address(raw, field: "detect-url", directory: directory)
            detectURL = parsed.address
            credentials = credentials ?? parsed.credentials
        }
        if let username = text("username") {
            credentials = CameraCredentials(username: username, password: try password(from: text("password-file")))
        } else if text("password-file") != nil {
            throw FieldProblem(field: "password-file", message: "--password-file needs --username")
        }
        let now = Date()
        let camera = Camera(
            id: id,
            name: try required("name", existing?.name),
            streamURL: streamURL,
            detectURL: detectURL,
            enabled: try flag("enabled", existing?.enabled ?? true),
            latitude: try requiredNumber("lat", in: -90...90, existing?.latitude),
            longitude: try requiredNumber("lon", in: -180...180, existing?.longitude),
            address: text("address") ?? existing?.address,
            municipality: try required("municipality", existing?.municipality),
            operatorName: try required("operator", existing?.operatorName),
            purpose: try required("purpose", existing?.purpose),
            legalBasis: text("legal-basis") ?? existing?.legalBasis,
            retentionDays: try wholeNumber("retention-days", in: 1...36500, existing?.retentionDays),
            viewDirection: try number("view-direction", in: 0...360, existing?.viewDirection),
            isPublic: try visibility(existing?.isPublic),
            model: text("model") ?? existing?.model,
            firmware: text("firmware") ?? existing?.firmware,
            detection: existing?.detection,
            placeType: try choice("place-type", Camera.PlaceType.allCases.map(\.rawValue), existing?.placeType),
            mount: try choice("mount", Camera.Mount.allCases.map(\.rawValue), existing?.mount),
            pictogram: values["pictogram"] == nil ? existing?.pictogram : try flag("pictogram", false),
            contact: text("contact") ?? existing?.contact,
            declared: try date("declared", existing?.declared, now: now),
            legalException: text("legal-exception") ?? existing?.legalException,
            createdAt: existing?.createdAt ?? now,
            updatedAt: now)
        if camera.effectiveRetentionDays > Camera.maximumRetentionDays, camera.legalException == nil {
            throw FieldProblem(field: "retention-days", message: "retention-days \(camera.effectiveRetentionDays) is over "
                               + "the legal maximum of \(Camera.maximumRetentionDays) days; give --legal-exception TEXT "
                               + "naming the decree or decision that allows it (shown in the public register)")
        }
        return (camera, credentials)
    }

    /// Fields stored and printed as text (paths and URLs are checked where they are parsed).
    static let textFields = [
        "id", "name", "address", "municipality", "operator", "purpose", "legal-basis", "model", "firmware", "username",
        "contact", "legal-exception",
    ]

    /// One of `allowed`, or the current value when the field is not given.
    private func choice(_ field: String, _ allowed: [String], _ current: String?) throws(FieldProblem) -> String? {
        guard let raw = values[field]?.trimmingCharacters(in: .whitespaces).lowercased(), !raw.isEmpty else {
            return current
        }
        guard allowed.contains(raw) else {
            throw FieldProblem(field: field, message: "\(field) '\(TextFile.quoted(raw))' must be one of "
                               + allowed.joined(separator: ", "))
        }
        return raw
    }

    /// A calendar date `YYYY-MM-DD` that is not in the future, or the current value.
    private func date(_ field: String, _ current: String?, now: Date) throws(FieldProblem) -> String? {
        guard let raw = values[field]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return current }
        guard let day = UTCDay.parse(raw) else {
            throw FieldProblem(field: field, message: "\(field) '\(TextFile.quoted(raw))' is not a date YYYY-MM-DD")
        }
        guard day <= now else {
            throw FieldProblem(field: field, message: "\(field) \(raw) is in the future: give the date of the last declaration")
        }
        return raw
    }

    private func visibility(_ current: Bool?) throws(FieldProblem) -> Bool {
        guard values["public"] != nil || current != nil else {
            throw FieldProblem(field: "public", message: "--public or --private is required")
        }
        return try flag("public", current ?? false)
    }

    private func flag(_ field: String, _ current: Bool) throws(FieldProblem) -> Bool {
        guard let raw = values[field]?.trimmingCharacters(in: .whitespaces).lowercased(), !raw.isEmpty else {
            return current
        }
        switch raw {
        case "true", "yes", "1", "public": return true
        case "false", "no", "0", "private": return false
        default: throw FieldProblem(field: field, message: "\(field) '\(TextFile.quoted(raw))' must be true or false")
        }
    }

    private func address(_ raw: String, field: String, directory: String) throws(FieldProblem) -> StreamAddress {
        do {
            return try StreamAddress(parsing: raw, field: field, directory: directory)
        } catch {
            throw FieldProblem(field: field, message: error.description)
        }
    }

    private func password(from path: String?) throws(FieldProblem) -> String {
        guard let path else {
            throw FieldProblem(field: "password-file", message: "--username needs --password-file FILE "
                               + "(a password is never given on the command line)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw FieldProblem(field: "password-file", message: "cannot read password file \(path): "
                               + String(cString: strerror(FileManager.default.fileExists(atPath: path) ? EACCES : ENOENT)))
        }
        return text.hasSuffix("\r\n") ? String(text.dropLast(2)) : text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}
