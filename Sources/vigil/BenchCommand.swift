import ArgumentParser

/// Placeholder replaced below.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark.")
}
