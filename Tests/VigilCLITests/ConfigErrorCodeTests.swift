import Testing
import VigilPipeline

/// A program can tell what is wrong with a config file by the error's code, not its words.
@Suite("config errors carry a code")
struct ConfigErrorCodeTests {
    /// The code of the error parsing `yaml` throws, or nil when it parses.
    static func code(_ yaml: String) -> VigilConfig.LoadError.Code? {
        do throws(VigilConfig.LoadError) {
            _ = try VigilConfig.parse(yaml: yaml, origin: "test.yaml")
            return nil
        } catch {
            return error.code
        }
    }

    @Test("each kind of problem has its own code", arguments: [
        ("daemon: [1, 2", VigilConfig.LoadError.Code.invalidYAML),
        ("- just a list", .wrongShape),
        ("daemon: 3", .wrongShape),
        ("daemon: {read_timout: 2}", .unknownKey),
        ("reporter: {webhook: {}}", .missingKey),
        ("daemon: {read_timeout: 1e30}", .invalidValue),
        ("daemon: {read_timeout: soon}", .invalidValue),
    ])
    func codes(yaml: String, expected: VigilConfig.LoadError.Code) {
        #expect(Self.code(yaml) == expected, "\(yaml)")
    }

    @Test("a file that cannot be read: cannotRead, and the description users see is unchanged")
    func unreadable() {
        do throws(VigilConfig.LoadError) {
            _ = try VigilConfig.load(path: "/nonexistent/vigil.yaml")
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.code == .cannotRead)
            #expect(error.description.hasPrefix("cannot read config /nonexistent/vigil.yaml"), "\(error)")
        }
    }
}
