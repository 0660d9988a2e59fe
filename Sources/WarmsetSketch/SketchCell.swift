/// The counter type of a sketch's cells.
///
/// Plain request counting uses `UInt32` cells: 4 bytes, integer sums that merge exactly.
/// Weighted and decayed counting (`--weight bytes|time`, `--half-life`) needs non-integer
/// weights that may grow large, so it uses `Double` cells (8 bytes).
public protocol SketchCell: Comparable, Sendable, BitwiseCopyable {
    /// The empty cell.
    static var zero: Self { get }
    /// The kind recorded in a sketch file.
    static var kind: SketchCellKind { get }
    /// `self + other`, saturating at the largest value instead of overflowing.
    func saturatingAdd(_ other: Self) -> Self
    /// The value as a double (exact for `UInt32`).
    var doubleValue: Double { get }
    /// The cell nearest to `value` (rounded up for integer cells, saturating).
    init(roundingUp value: Double)
    /// Stores the cell little-endian at `offset`.
    func storeLittleEndian(to base: UnsafeMutableRawPointer, at offset: Int)
    /// Loads a little-endian cell from `offset`.
    static func loadLittleEndian(from base: UnsafeRawPointer, at offset: Int) -> Self
}

/// Which cell type a sketch holds; sketches of different kinds never merge.
public enum SketchCellKind: UInt8, Sendable, Equatable, CustomStringConvertible {
    /// 32-bit unsigned integer counters (request counts).
    case uint32 = 1
    /// 64-bit IEEE floating-point counters (weights, decayed counts).
    case float64 = 2

    /// Bytes per cell.
    public var byteWidth: Int { self == .uint32 ? 4 : 8 }

    public var description: String { self == .uint32 ? "32-bit integer counters" : "64-bit float counters" }
}

extension UInt32: SketchCell {
    public static var kind: SketchCellKind { .uint32 }

    @inline(__always)
    public func saturatingAdd(_ other: UInt32) -> UInt32 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    public var doubleValue: Double { Double(self) }

    public init(roundingUp value: Double) {
        if !(value > 0) {
            self = 0
        } else if value >= Double(UInt32.max) {
            self = .max
        } else {
            self = UInt32(value.rounded(.up))
        }
    }

    public func storeLittleEndian(to base: UnsafeMutableRawPointer, at offset: Int) {
        base.storeBytes(of: littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    public static func loadLittleEndian(from base: UnsafeRawPointer, at offset: Int) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

extension Double: SketchCell {
    public static var kind: SketchCellKind { .float64 }

    @inline(__always)
    public func saturatingAdd(_ other: Double) -> Double { self + other }

    public var doubleValue: Double { self }

    public init(roundingUp value: Double) { self = value }

    public func storeLittleEndian(to base: UnsafeMutableRawPointer, at offset: Int) {
        base.storeBytes(of: bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    public static func loadLittleEndian(from base: UnsafeRawPointer, at offset: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
    }
}
