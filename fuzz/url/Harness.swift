import Foundation
import FuzzSupport
import VigilStore

/// The camera URL parser on any text. An accepted URL keeps no credentials in its address, and the
/// URL built for FFmpeg parses back to the same address and credentials; a refused one is a problem
/// that quotes no part of the credentials.
let fuzzURL: Harness = { data, size in
    let input = text(bytes(data, size))
    do throws(StreamAddress.Problem) {
        let parsed = try StreamAddress(parsing: input, directory: "/srv/video")
        guard !parsed.isFile else { return 0 }
        // The stored address carries no credentials: parsed again, it has none.
        let stored = try? StreamAddress(parsing: parsed.address, directory: "/srv/video")
        require(stored?.address == parsed.address && stored?.credentials == nil, "\(parsed.address) does not parse alone")
        let connect = StreamAddress.connectURL(for: parsed.address, with: parsed.credentials)
        let again = try? StreamAddress(parsing: connect, directory: "/srv/video")
        require(again?.address == parsed.address, "address \(parsed.address) came back as \(String(describing: again))")
        // A user name alone comes back with an empty password: the same credentials for FFmpeg.
        require(again?.credentials?.username == parsed.credentials?.username
                && (again?.credentials?.password ?? "") == (parsed.credentials?.password ?? ""),
                "credentials changed on the round trip of \(input)")
    } catch {
        if let at = input.range(of: "@", options: .backwards), let scheme = input.range(of: "://"),
            scheme.upperBound <= at.lowerBound
        {
            let userinfo = input[scheme.upperBound..<at.lowerBound]
            // Problems quote what the user gave between single quotes and nothing else; no quote may
            // hold a part of the userinfo of four characters or more (digits alone may be the port).
            // (The scheme, before the first `://`, is the user's too, and may be quoted.)
            let given = input[..<scheme.lowerBound].trimmingCharacters(in: .whitespaces).lowercased()
            let quotes = error.description.split(separator: "'").enumerated()
                .filter { $0.offset % 2 == 1 && $0.element != given }.map(\.element)
            for part in userinfo.split(whereSeparator: { ":/?#".contains($0) })
            where part.count >= 4 && !part.allSatisfy(\.isNumber) {
                require(!quotes.contains { literallyContains($0, part) }, "problem quotes '\(part)': \(error.description)")
            }
        }
    }
    return 0
}

@main
struct URLHarness: FuzzHarness {
    static let harness = fuzzURL
}
