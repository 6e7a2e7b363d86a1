import Foundation
import VigilTesting

/// Frames in a video's first video stream, counted by ffprobe decoding it.
public func ffprobeFrameCount(_ path: String) throws -> Int {
    let output = try runProcess("/usr/bin/ffprobe", [
        "-v", "error", "-count_frames", "-select_streams", "v:0",
        "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path,
    ])
    let text = output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let count = Int(text.split(separator: "\n").first ?? "") else {
        throw SupportError("ffprobe gave no frame count for \(path): \(output.stderrText)")
    }
    return count
}
