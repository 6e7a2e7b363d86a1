import Foundation
import VigilPipeline

/// One row of a plain-text table: each cell padded to its column's width (a cell that does not fit
/// is followed by one space), trailing blanks trimmed.
func tableRow(_ cells: [String], widths: [Int]) -> String {
    var line = ""
    for (cell, width) in zip(cells, widths) {
        line += cell.count >= width ? cell + " " : cell.padding(toLength: width, withPad: " ", startingAt: 0)
    }
    while line.last == " " { line.removeLast() }
    return line
}

/// A score between 0 and 1 with three decimals, or "-" when there is none.
func scoreText(_ value: Double?) -> String {
    value.map { String(format: "%.3f", $0) } ?? "-"
}

/// A fraction as a whole percentage, or "-" when there is none.
func percentText(_ value: Double?) -> String {
    value.map { String(format: "%.0f%%", $0 * 100) } ?? "-"
}

extension ClipScore {
    /// Health states matched / expected, `+N` for reported states with no match; "-" when none.
    var healthText: String {
        healthExpected == 0 && healthExtra == 0
            ? "-" : "\(healthMatched)/\(healthExpected)" + (healthExtra > 0 ? " +\(healthExtra)" : "")
    }
}
