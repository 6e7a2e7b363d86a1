import ArgumentParser
import Foundation
import VigilStore

/// `vigil register`: the public camera register.
struct RegisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "The public camera register.",
        subcommands: [ExportRegister.self, RegisterKeygen.self, RegisterPublish.self, RegisterVerify.self,
                      RegisterDiffCommand.self, RegisterCheck.self]
    )
}

extension PublicRegister.Format: ExpressibleByArgument {}

struct ExportRegister: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the public cameras with their public fields only (never URLs or credentials)."
    )

    @Option(help: "json, csv or geojson (an RFC 7946 FeatureCollection).")
    var format: PublicRegister.Format = .json
    @Option(help: "Write to this file instead of stdout.")
    var output: String?
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            let register = PublicRegister(cameras: try await registry.withRegistry(reading: true) { try await $0.cameras() })
            let data = try register.render(format)
            guard let output else {
                FileHandle.standardOutput.write(data)
                return
            }
            do {
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw Failure("cannot write \(output): \((error as NSError).localizedDescription)")
            }
        }
    }
}
