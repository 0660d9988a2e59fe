import Dispatch

/// Independent pieces of one step run at once, on the machine's cores (libdispatch's pool and
/// the calling thread), returning when every piece is done.
///
/// For the end of an analysis, which runs on one thread after the parse lanes stop: merging the
/// lanes' counters and ranking the candidates are a few milliseconds of work in pieces that
/// touch different memory (each lane's own counter; the sketch and the candidate table; the
/// two halves of an array), while the other core is idle. Each piece must touch only its own
/// memory, or memory nothing else writes during the call; what the pieces wrote is visible to
/// the caller when the call returns. On one core the pieces run one after another.
public enum Parallel {
    /// Runs `body(i)` once for each `i` in `0..<count`, at once where cores allow.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        // `concurrentPerform` takes a `@Sendable` closure; `body` is not one (its pieces share
        // the caller's objects, each piece touching its own part: this type's contract, which
        // `make tsan` checks). It returns only after every piece has run, so `body` does not
        // escape the call.
        withoutActuallyEscaping(body) { body in
            let pieces = Pieces(body: body)
            DispatchQueue.concurrentPerform(iterations: count) { pieces.body($0) }
        }
    }

    /// The pieces' closure, handed to the pool's threads (see `forEach`).
    private struct Pieces: @unchecked Sendable {
        let body: (Int) -> Void
    }

    /// Runs `first` and `second` at once where cores allow.
    public static func both(_ first: () -> Void, _ second: () -> Void) {
        forEach(2) { $0 == 0 ? first() : second() }
    }

    /// The `i`th of `parts` nearly equal, consecutive pieces of `0..<count` (the first
    /// `count % parts` one longer).
    public static func piece(_ i: Int, of parts: Int, count: Int) -> Range<Int> {
        let size = count / parts, extra = count % parts
        let start = i * size + min(i, extra)
        return start..<(start + size + (i < extra ? 1 : 0))
    }
}
