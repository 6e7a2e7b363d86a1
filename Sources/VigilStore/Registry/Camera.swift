import Foundation

/// A camera as the registry knows it: where it is, who runs it, why, and how to reach it.
///
/// The stream URLs never hold credentials; those live apart (`CameraCredentials`, their own table)
/// and are joined in only to build the connect URL for the shim.
public struct Camera: Sendable, Equatable, Codable {
    /// Stable slug, e.g. `grote-markt-1`.
    public var id: String
    /// Display name.
    public var name: String
    /// `rtsp://`, `rtsps://` URL without userinfo, or an absolute path of a local video file.
    public var streamURL: String
    /// Optional low-resolution sub-stream used for detection (the main stream then serves evidence).
    public var detectURL: String?
    public var enabled: Bool
    /// WGS84 degrees.
    public var latitude: Double
    public var longitude: Double
    public var address: String?
    public var municipality: String
    /// The responsible controller (operator) of the camera.
    public var operatorName: String
    public var purpose: String
    public var legalBasis: String?
    /// Days its snapshots and alerts are kept (``defaultRetentionDays`` when nil); above
    /// ``maximumRetentionDays`` only with a ``legalException``.
    public var retentionDays: Int?
    /// Compass bearing the camera looks at, in degrees (0 = north, 90 = east).
    public var viewDirection: Double?
    /// Listed in the public register.
    public var isPublic: Bool
    /// Private hardware details (never exported).
    public var model: String?
    public var firmware: String?
    /// Per-camera detection overrides, masks and zones, as JSON (decoded by the pipeline).
    public var detection: String?
    /// What the camera law's declaration asks for (all public): the kind of place watched
    /// (``PlaceType``), how the camera is installed (``Mount``), whether the pictogram is placed,
    /// the data-protection contact, and the date of the last declaration (`YYYY-MM-DD`).
    public var placeType: String?
    public var mount: String?
    public var pictogram: Bool?
    public var contact: String?
    public var declared: String?
    /// The decree or decision that allows a retention above ``maximumRetentionDays`` (public: shown in the register).
    public var legalException: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, name: String, streamURL: String, detectURL: String? = nil, enabled: Bool = true,
                latitude: Double, longitude: Double, address: String? = nil, municipality: String,
                operatorName: String, purpose: String, legalBasis: String? = nil, retentionDays: Int? = nil,
                viewDirection: Double? = nil, isPublic: Bool, model: String? = nil, firmware: String? = nil,
                detection: String? = nil, placeType: String? = nil, mount: String? = nil, pictogram: Bool? = nil,
                contact: String? = nil, declared: String? = nil, legalException: String? = nil,
                createdAt: Date = Date(), updatedAt: Date = Date()) {
        self.id = id
        self.name = name
        self.streamURL = streamURL
        self.detectURL = detectURL
        self.enabled = enabled
        self.latitude = latitude
        self.longitude = longitude
        self.address = address
        self.municipality = municipality
        self.operatorName = operatorName
        self.purpose = purpose
        self.legalBasis = legalBasis
        self.retentionDays = retentionDays
        self.viewDirection = viewDirection
        self.isPublic = isPublic
        self.model = model
        self.firmware = firmware
        self.detection = detection
        self.placeType = placeType
        self.mount = mount
        self.pictogram = pictogram
        self.contact = contact
        self.declared = declared
        self.legalException = legalException
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Camera {
    /// The retention of a camera without `retention-days`: the legal month.
    public static let defaultRetentionDays = 30
    /// The longest retention the law allows (three months, where a royal decree designates the place);
    /// beyond it a camera needs a ``legalException``.
    public static let maximumRetentionDays = 90

    /// Days this camera's snapshots and alerts are kept.
    public var effectiveRetentionDays: Int { retentionDays ?? Self.defaultRetentionDays }

    /// The kinds of place the camera law distinguishes (Belgian camera law of 21 March 2007).
    public enum PlaceType: String, Sendable, CaseIterable {
        case open, enclosedPublic = "enclosed-public", enclosedPrivate = "enclosed-private"
    }

    /// How a camera is installed, in the law's terms.
    public enum Mount: String, Sendable, CaseIterable {
        case fixed, temporary, mobile
    }
}

/// A camera's user name and password, stored apart from the camera record.
public struct CameraCredentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}
