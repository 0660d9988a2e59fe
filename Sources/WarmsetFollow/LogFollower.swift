import Glibc
import WarmsetInput
import WarmsetSystem

/// Follows growing logs like `tail -F`, by polling: each `poll()` hands out the complete lines
/// written since the last one.
///
/// Each path is checked by device and inode on every poll:
/// - rotation by rename (or removal and a new file): the old file is kept open and read to its
///   end while the new one is read from its start; the old one is closed once it has not grown
///   for `retireAfterIdlePolls` polls, and its last line is delivered then even without a newline;
/// - copy-and-truncate (the file got shorter than the offset read, its first bytes changed, or
///   the byte before the offset is no longer the newline it was): reading restarts at 0;
/// - a removed file is read to its end and the path is watched until a file appears again.
///
/// A partial last line is held (not delivered, not counted in the offset) until its newline
/// arrives, so `positions` always point just after a complete line and a restart from them
/// neither loses nor repeats a line. Gzip files are refused: rotated, compressed logs are not
/// followed. Lines longer than `maxLineBytes` are counted in `overlongLines` and skipped.
public final class LogFollower {
    /// The followed paths, as given.
    public let paths: [String]
    /// The longest line delivered.
    public let maxLineBytes: Int
    /// Polls without growth after which a rotated-away file is closed.
    public let retireAfterIdlePolls: Int
    /// Lines delivered so far (not counting overlong ones).
    public private(set) var linesDelivered = 0
    /// Lines skipped for being longer than `maxLineBytes`.
    public private(set) var overlongLines = 0
    /// Rotations seen (a path that names a new file).
    public private(set) var rotations = 0
    /// Truncations seen (copy-and-truncate).
    public private(set) var truncations = 0
    /// What happened that an operator may want to know (rotations, truncations, files that
    /// could not be found again on resume); `takeEvents()` empties it.
    public private(set) var events: [String] = []

    private var files: [Followed]
    private let buffer: UnsafeMutableRawBufferPointer
    /// What a line is: the readers' one rule (`\r`, `maxLineBytes`).
    private let framer: LineFramer

    /// Starts following `paths`, from their starts, or from `positions` saved by an earlier run.
    ///
    /// A saved position whose file is no longer at its path is looked for, by device and inode,
    /// among the other files of its directory (a rotation while stopped) and read to its end.
    /// - Throws: `FollowError` when a file exists but cannot be opened, or is gzip.
    public init(
        paths: [String], resumingFrom positions: [FollowPosition] = [], maxLineBytes: Int = 64 * 1024,
        retireAfterIdlePolls: Int = 5
    ) throws(FollowError) {
        self.paths = paths
        self.maxLineBytes = max(maxLineBytes, 1)
        self.retireAfterIdlePolls = max(retireAfterIdlePolls, 1)
        framer = LineFramer(maxLineBytes: self.maxLineBytes)
        buffer = .allocate(byteCount: max(1 << 20, 2 * self.maxLineBytes + 2), alignment: 64)
        files = paths.map { Followed(path: $0) }
        for file in files {
            for saved in positions where saved.path == file.path {
                try resume(file, from: saved)
            }
        }
    }

    deinit { buffer.deallocate() }

    /// Where every file has been read to, for a checkpoint.
    public var positions: [FollowPosition] {
        files.flatMap { file in
            file.retired.map { $0.position(path: file.path, retired: true) }
                + (file.current.map { [$0.position(path: file.path, retired: false)] } ?? [])
        }
    }

    /// Returns and clears the events gathered since the last call.
    public func takeEvents() -> [String] {
        defer { events = [] }
        return events
    }

    /// Reads what was written since the last poll and calls `body` with each complete line
    /// (without its `\n` or `\r\n`); the line's bytes are valid inside the call only.
    /// - Returns: the number of lines delivered.
    /// - Throws: `FollowError` when a file cannot be read or opened; lines before it were delivered.
    /// - Complexity: O(bytes new since the last poll), plus one `stat` per path.
    @discardableResult
    public func poll(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let before = linesDelivered
        for file in files { try poll(file, body) }
        return linesDelivered - before
    }

    /// Reopens every file by its path (SIGHUP): a file still at its path is reopened at the
    /// same offset; one rotated away is read to its end and closed.
    /// - Throws: `FollowError` when a file cannot be opened.
    public func reopen(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        for file in files {
            for old in file.retired { try drain(old, path: file.path, final: true, body) }
            file.retired = []
            if let current = file.current {
                try drain(current, path: file.path, final: false, body)
                if let now = FollowFiles.status(path: file.path), now.identity == current.identity,
                    let reopened = try OpenLog.open(
                        file.path, identity: current.identity, offset: current.offset, skipping: current.skipping, framer: framer)
                {
                    file.current = reopened
                } else {
                    // Gone or replaced since the last poll: read what the old file still has, as a rotation.
                    try drain(current, path: file.path, final: true, body)
                    file.current = nil
                }
            }
        }
        events.append("reopened \(files.count) log(s)")
    }

    // MARK: - One path

    private func poll(_ file: Followed, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        // Files rotated away: read on; close once they stop growing.
        var keep: [OpenLog] = []
        for old in file.retired {
            let grew = try drain(old, path: file.path, final: false, body)
            old.idlePolls = grew ? 0 : old.idlePolls + 1
            if old.idlePolls >= retireAfterIdlePolls {
                try drain(old, path: file.path, final: true, body)
            } else {
                keep.append(old)
            }
        }
        file.retired = keep

        if file.current == nil {
            guard let opened = try openAtPath(file.path) else { return }
            file.current = opened
        }
        guard let current = file.current else { return }
        let status = try FollowFiles.status(current.fd, path: file.path)
        let unchanged = try stillHoldsWhatWasRead(current, path: file.path)
        if status.size < current.offset || !unchanged {
            truncations += 1
            events.append("\(file.path): truncated to \(status.size) bytes (copy-and-truncate); reading again from its start")
            current.restart(at: 0, skipping: false)
            current.head = []
        } else if status.size < current.readOffset {
            // Cut inside the unfinished line held: read it again from its start, as it is now.
            current.restart(at: current.offset, skipping: current.skipping)
        }
        try drain(current, path: file.path, final: false, body)

        // Has the path moved on to another file?
        guard let now = FollowFiles.status(path: file.path), now.identity != current.identity else { return }
        guard let fresh = try openAtPath(file.path) else { return }
        rotations += 1
        events.append("\(file.path): rotated (a new file is at the path); reading the old one to its end")
        file.retired.append(current)
        file.current = fresh
        try drain(fresh, path: file.path, final: false, body)
    }

    /// Whether the file still holds what was read from it: its first bytes unchanged (they are
    /// remembered, up to 64), and the byte before the offset still a newline. A file truncated
    /// and written again past the old offset between two polls (copy-and-truncate under heavy
    /// writes) fails this test unless the new lines begin exactly as the old ones did, and is
    /// then read again from 0.
    private func stillHoldsWhatWasRead(_ log: OpenLog, path: String) throws(FollowError) -> Bool {
        let head = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<OpenLog.headBytes])
        let n = try FollowFiles.pread(log.fd, into: head, at: 0, path: path)
        guard n >= log.head.count, head[0..<log.head.count].elementsEqual(log.head) else { return false }
        if n > log.head.count { log.head = Array(head[0..<n]) }
        guard log.offset > 0, !log.skipping else { return true }
        let byte = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<1])
        let m = try FollowFiles.pread(log.fd, into: byte, at: log.offset - 1, path: path)
        return m == 1 && byte[0] == 0x0A
    }

    /// Opens the file at `path` at offset 0; nil when there is none.
    private func openAtPath(_ path: String) throws(FollowError) -> OpenLog? {
        guard let fd = try FollowFiles.open(path) else { return nil }
        let status: FollowFiles.Status
        do {
            status = try FollowFiles.status(fd, path: path)
        } catch {
            try? fd.close()
            throw error
        }
        let log = OpenLog(fd: fd, identity: status.identity, offset: 0, skipping: false, framer: framer)
        if try isGzip(log, path: path) { throw FollowError(path: path, kind: .gzipNotFollowed) }
        return log
    }

    private func isGzip(_ log: OpenLog, path: String) throws(FollowError) -> Bool {
        let n = try FollowFiles.pread(log.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<2]), at: 0, path: path)
        return n == 2 && buffer[0] == 0x1f && buffer[1] == 0x8b
    }

    private func resume(_ file: Followed, from saved: FollowPosition) throws(FollowError) {
        if let now = FollowFiles.status(path: file.path), now.identity == saved.identity, !saved.retired || file.current == nil,
            let log = try OpenLog.open(file.path, identity: saved.identity, offset: saved.offset, skipping: saved.skipping, framer: framer)
        {
            if saved.retired {
                file.retired.append(log)
            } else {
                file.current = log
            }
            return
        }
        // Rotated while stopped: find the file by its identity next to the path.
        let slash = file.path.lastIndex(of: "/")
        let directory = slash.map { String(file.path[..<$0]) } ?? "."
        let base = slash.map { String(file.path[file.path.index(after: $0)...]) } ?? file.path
        for name in FileSystem.names(in: directory.isEmpty ? "/" : directory) where name.hasPrefix(base) && name != base {
            let candidate = (directory.isEmpty ? "" : directory) + "/" + name
            guard let status = FollowFiles.status(path: candidate), status.identity == saved.identity,
                let log = try OpenLog.open(candidate, identity: saved.identity, offset: saved.offset, skipping: saved.skipping, framer: framer)
            else { continue }
            if try isGzip(log, path: candidate) {
                events.append("\(file.path): the file read before the restart was compressed as \(candidate); lines after byte \(saved.offset) of it are not counted")
                return
            }
            file.retired.append(log)
            events.append("\(file.path): rotated while stopped; reading \(candidate) on from byte \(saved.offset)")
            return
        }
        events.append("\(file.path): the file read before the restart is gone; lines written to it after byte \(saved.offset) are not counted")
    }

    // MARK: - Reading

    /// Reads `log` from where it was read to up to the end of the file, delivering complete
    /// lines, framed by the readers' one `LineFramer`; the start of a line whose newline is not
    /// written yet is kept in the file's `LineCarry` (not read again). With `final`, a last line
    /// without a newline is delivered too (the file will not be read again).
    /// - Returns: whether a line was completed (delivered or skipped).
    @discardableResult
    private func drain(
        _ log: OpenLog, path: String, final: Bool, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        guard let base = buffer.baseAddress else { return false }
        let startOffset = log.offset
        func line(_ bytes: UnsafeRawBufferPointer) throws {
            linesDelivered += 1
            try body(bytes)
        }
        func overlong(_ length: Int) { overlongLines += 1 }
        while true {
            let n = try FollowFiles.pread(log.fd, into: buffer, at: log.readOffset, path: path)
            if n == 0 { break }
            log.readOffset += Int64(n)
            var start = 0
            if !log.carry.isEmpty {
                guard let hit = memchr(base, 0x0A, n) else {
                    log.carry.append(base, count: n)
                    continue
                }
                let head = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                try log.carry.complete(with: base, count: head, framer: framer, onOverlong: overlong, line)
                start = head + 1
            }
            start = try framer.forEachLine(in: base, from: start, to: n, onOverlong: overlong, line)
            if start < n { log.carry.append(base + start, count: n - start) }
            if n < buffer.count { break }
        }
        if final { try log.carry.finish(framer: framer, onOverlong: overlong, line) }
        return log.offset != startOffset
    }
}

/// One followed path: the file now at it, and files rotated away still being read.
final class Followed {
    let path: String
    var current: OpenLog?
    var retired: [OpenLog] = []

    init(path: String) { self.path = path }
}

/// An open log file and how far it has been read; closes its descriptor on `deinit`.
final class OpenLog {
    let fd: FileDescriptor
    let identity: FileIdentity
    /// Where the next read starts: after the last complete line and the bytes of the unfinished
    /// line that `carry` holds (or skips).
    var readOffset: Int64
    /// The unfinished line read so far.
    let carry: LineCarry
    var idlePolls = 0
    /// The file's first bytes (up to `headBytes`), to notice it was truncated and rewritten.
    var head: [UInt8] = []
    static let headBytes = 64

    init(fd: FileDescriptor, identity: FileIdentity, offset: Int64, skipping: Bool, framer: LineFramer) {
        self.fd = fd
        self.identity = identity
        readOffset = offset
        carry = LineCarry(capacity: framer.carryCapacity)
        if skipping { carry.resumeSkipping() }
    }

    /// The byte after the last complete line (inside a line being skipped: after the bytes
    /// skipped so far), where a restart resumes.
    var offset: Int64 { carry.isSkipping ? readOffset : readOffset - Int64(carry.keptBytes) }
    /// Whether inside a line too long to deliver, dropping its bytes up to its newline.
    var skipping: Bool { carry.isSkipping }

    /// Reads again from `offset`, forgetting the unfinished line.
    func restart(at offset: Int64, skipping: Bool) {
        readOffset = offset
        carry.reset()
        if skipping { carry.resumeSkipping() }
    }

    /// Opens `path` if it is still the file `identity`, at `offset` (0 when it has since been
    /// truncated: shorter than `offset`, or no newline just before it).
    static func open(_ path: String, identity: FileIdentity, offset: Int64, skipping: Bool, framer: LineFramer) throws(FollowError) -> OpenLog? {
        guard let fd = try FollowFiles.open(path) else { return nil }
        guard let status = try? FollowFiles.status(fd, path: path), status.identity == identity else {
            try? fd.close()
            return nil
        }
        // Truncated since (shorter, or no longer a newline before the offset): from the start.
        var resumeAt = status.size < offset ? 0 : offset
        if resumeAt > 0 {
            var byte: UInt8 = 0
            let n = withUnsafeMutableBytes(of: &byte) { (try? FollowFiles.pread(fd, into: $0, at: resumeAt - 1, path: path)) ?? 0 }
            if n != 1 || byte != 0x0A { resumeAt = 0 }
        }
        return OpenLog(fd: fd, identity: identity, offset: resumeAt, skipping: skipping, framer: framer)
    }

    func position(path: String, retired: Bool) -> FollowPosition {
        FollowPosition(path: path, identity: identity, offset: offset, skipping: skipping, retired: retired)
    }

    deinit { try? fd.close() }
}
