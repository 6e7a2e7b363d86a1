import Foundation
import Synchronization
import Testing
import VigilStore

@Suite("thread names as the kernel shows them")
struct ThreadNameTests {
    @Test("a name is cut to the kernel's 15 bytes without splitting a character")
    func truncation() {
        #expect(ThreadName.truncated("vigil-queue") == "vigil-queue")
        #expect(ThreadName.truncated("vigil-cam-front-door-north") == "vigil-cam-front")
        // "ß" is two bytes: it would be bytes 15 and 16.
        #expect(ThreadName.truncated("vigil-cam-straße") == "vigil-cam-stra")
    }

    @Test("the name set on a thread reaches /proc/thread-self/comm")
    func reachesProc() {
        let seen = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            ThreadName.setCurrent("vigil-test-thread-name")
            seen.withLock { $0 = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
            done.signal()
        }.start()
        done.wait()
        #expect(seen.withLock { $0 } == "vigil-test-thre\n")
    }
}
