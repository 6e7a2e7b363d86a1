/// A fixed-size block of memory the detector reuses on every frame: made when the picture size
/// changes, never per frame, and freed when the last reference to it goes.
final class ScratchBuffer<Element> {
    let memory: UnsafeMutableBufferPointer<Element>

    /// An empty buffer (before the first frame).
    init() {
        memory = UnsafeMutableBufferPointer(start: nil, count: 0)
    }

    /// A buffer of `count` elements, each set to `value`.
    init(count: Int, repeating value: Element) {
        memory = .allocate(capacity: count)
        memory.initialize(repeating: value)
    }

    deinit {
        memory.deallocate()
    }

    var count: Int { memory.count }
    var base: UnsafeMutablePointer<Element> { memory.baseAddress! }

    subscript(index: Int) -> Element {
        get { memory[index] }
        set { memory[index] = newValue }
    }

    func fill(with value: Element) {
        memory.update(repeating: value)
    }
}
