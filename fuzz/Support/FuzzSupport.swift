import CFuzzDriver
import Foundation

/// A harness: one input in, 0 out (libFuzzer's `LLVMFuzzerTestOneInput` signature).
public typealias Harness = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// A harness program: `@main struct ConfigHarness: FuzzHarness { static let harness = fuzzConfig }`.
/// Built with `-sanitize=fuzzer -DFUZZING` its `main` runs libFuzzer on the harness; otherwise it
/// replays the files and directories given as arguments through it.
public protocol FuzzHarness {
    static var harness: Harness { get }
}

extension FuzzHarness {
    public static func main() {
        #if FUZZING
        current = harness
        var count = CommandLine.argc
        var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&count, &arguments, harness))
        #else
        replayCorpus(CommandLine.arguments.dropFirst(), through: harness)
        #endif
    }
}

#if FUZZING
/// The harness being fuzzed, for libFuzzer's entry point below.
nonisolated(unsafe) private var current: Harness?

/// libFuzzer's fixed entry point (it links against the name), forwarding to the running harness.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    current?(data, size) ?? 0
}
#endif

/// Runs a harness over files, for the plain builds: `FuzzConfig fuzz/corpus/config` replays the
/// committed corpus (files, or directories of them) without libFuzzer.
public func replayCorpus(_ paths: some Sequence<String>, through harness: Harness) {
    var files: [String] = []
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            FileHandle.standardError.write(Data("no such corpus file or directory: \(path)\n".utf8))
            exit(2)
        }
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files += names.sorted().map { "\(path)/\($0)" }
        } else {
            files.append(path)
        }
    }
    for file in files {
        let data = FileManager.default.contents(atPath: file) ?? Data()
        _ = data.withUnsafeBytes { buffer in
            // A non-null pointer for an empty input too, as libFuzzer passes.
            harness(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1), data.count)
        }
    }
    print("replayed \(files.count) inputs")
}

/// The input as bytes.
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
}

/// The input as text, the way a file with these bytes would be read (invalid UTF-8 repaired).
public func text(_ bytes: some Collection<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self)
}

/// Whether `text` holds `part` byte for byte (Foundation's `contains` compares loosely: it skips
/// NUL characters and matches canonically equivalent forms).
public func literallyContains(_ text: some StringProtocol, _ part: some StringProtocol) -> Bool {
    let haystack = Array(text.utf8), needle = Array(part.utf8)
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    return (0...haystack.count - needle.count).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
}

/// Whether `text` prints as one line: no line feed, carriage return or other line break.
public func isOneLine(_ text: String) -> Bool {
    !text.unicodeScalars.contains { "\n\r\u{0B}\u{0C}\u{85}\u{2028}\u{2029}".unicodeScalars.contains($0) }
}

/// Stops the fuzzer on a broken property, with what broke it.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        FileHandle.standardError.write(Data("property violated: \(message())\n".utf8))
        abort()
    }
}
