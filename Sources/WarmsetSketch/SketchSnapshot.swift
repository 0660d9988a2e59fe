/// Everything a sketch file holds, as plain values: the count-min table, the candidate keys
/// with their representative paths and byte sums, and how they were counted.
///
/// A snapshot is what `--save-sketch` writes and what `warmset merge` and sketch inputs to
/// `warmset analyze` read; `SketchFile` turns it into bytes and back.
public struct SketchSnapshot: Sendable, Equatable {
    /// One candidate key.
    public struct Candidate: Sendable, Equatable {
        /// The key's bytes.
        public var key: [UInt8]
        /// Its representative request path.
        public var path: [UInt8]
        /// Requests seen while it was a candidate.
        public var observed: UInt64
        /// Body bytes of those requests.
        public var bytesSum: UInt64

        /// Creates a candidate.
        public init(key: [UInt8], path: [UInt8], observed: UInt64, bytesSum: UInt64) {
            self.key = key
            self.path = path
            self.observed = observed
            self.bytesSum = bytesSum
        }
    }

    /// Shape and hash seed.
    public var parameters: SketchParameters
    /// The counter type.
    public var cellKind: SketchCellKind
    /// Conservative (true) or plain update.
    public var conservative: Bool
    /// What a request weighs.
    public var weight: SketchWeight
    /// The decay half-life in seconds; 0 when not decayed.
    public var halfLifeSeconds: Int64
    /// The decay landmark (epoch seconds), when decayed and any time was seen.
    public var landmark: Int64?
    /// The oldest log time counted (decayed sketches only).
    public var oldest: Int64?
    /// The newest log time counted (decayed sketches only).
    public var newest: Int64?
    /// N: the sum of the weights in the table, in cell units (relative to the landmark).
    public var total: Double
    /// Requests counted.
    public var requests: UInt64
    /// Any key that is not a candidate has a true weight of at most this (cell units).
    public var missBound: Double
    /// How many candidates the producer kept at most.
    public var capacity: Int
    /// The counters, little-endian, row by row: depth × width × cell bytes.
    public var cells: [UInt8]
    /// The candidate keys.
    public var candidates: [Candidate]

    /// Creates a snapshot.
    public init(
        parameters: SketchParameters, cellKind: SketchCellKind, conservative: Bool, weight: SketchWeight,
        halfLifeSeconds: Int64, landmark: Int64?, oldest: Int64?, newest: Int64?, total: Double, requests: UInt64,
        missBound: Double, capacity: Int, cells: [UInt8], candidates: [Candidate]
    ) {
        self.parameters = parameters
        self.cellKind = cellKind
        self.conservative = conservative
        self.weight = weight
        self.halfLifeSeconds = halfLifeSeconds
        self.landmark = landmark
        self.oldest = oldest
        self.newest = newest
        self.total = total
        self.requests = requests
        self.missBound = missBound
        self.capacity = capacity
        self.cells = cells
        self.candidates = candidates
    }

    /// The decay these times describe, when decayed.
    public var decay: ForwardDecay? {
        halfLifeSeconds > 0
            ? ForwardDecay(halfLifeSeconds: halfLifeSeconds, landmark: landmark, oldest: oldest, newest: newest) : nil
    }

    /// Throws unless `other` can be summed with this snapshot: same shape, seed, counter
    /// type, update rule, weight and half-life.
    /// - Parameters:
    ///   - name: this snapshot's file name, for the message.
    ///   - otherName: the other's.
    public func checkMergeable(with other: SketchSnapshot, name: String, otherName: String) throws(SketchError) {
        func differ(_ what: String, _ a: String, _ b: String) -> SketchError {
            SketchError(path: otherName, kind: .incompatible(
                "its \(what) (\(b)) differs from \(name)'s (\(a)); sketches merge only when made with the same settings"))
        }
        if parameters.seed != other.parameters.seed {
            throw differ("hash seed", String(parameters.seed, radix: 16), String(other.parameters.seed, radix: 16))
        }
        if parameters.depth != other.parameters.depth || parameters.widthLog2 != other.parameters.widthLog2 {
            throw differ(
                "shape", "\(parameters.depth)×\(parameters.width)", "\(other.parameters.depth)×\(other.parameters.width)")
        }
        if cellKind != other.cellKind { throw differ("counter type", cellKind.description, other.cellKind.description) }
        if conservative != other.conservative {
            throw differ("update rule", conservative ? "conservative" : "plain", other.conservative ? "conservative" : "plain")
        }
        if weight != other.weight { throw differ("weight", weight.description, other.weight.description) }
        if halfLifeSeconds != other.halfLifeSeconds {
            throw differ("half-life", halfLifeSeconds == 0 ? "none" : "\(halfLifeSeconds) s",
                other.halfLifeSeconds == 0 ? "none" : "\(other.halfLifeSeconds) s")
        }
    }
}
