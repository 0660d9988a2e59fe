/// Parsing of the two time syntaxes nginx logs: `$time_local` and `$time_iso8601`.
public enum LogTime {
    /// `10/Oct/2000:13:55:36 -0700` → seconds since the epoch, or nil.
    public static func parseTimeLocal(_ s: UnsafeRawBufferPointer) -> Int64? {
        guard s.count >= 26 else { return nil }
        guard let day = digits(s, 0, 2), s[2] == 0x2F, let month = monthNumber(s, 3), s[6] == 0x2F,
            let year = digits(s, 7, 4), s[11] == 0x3A, let hour = digits(s, 12, 2), s[14] == 0x3A,
            let minute = digits(s, 15, 2), s[17] == 0x3A, let second = digits(s, 18, 2), s[20] == 0x20,
            let offset = zoneOffset(s, 21, colon: false)
        else { return nil }
        return epoch(year, month, day, hour, minute, second) - offset
    }

    /// `2000-10-10T13:55:36-07:00`, `…Z`, `2000-10-10T13:55`, or `2000-10-10` → seconds, or nil.
    ///
    /// A time without a zone is taken as UTC.
    public static func parseISO8601(_ s: UnsafeRawBufferPointer) -> Int64? {
        guard s.count >= 10, let year = digits(s, 0, 4), s[4] == 0x2D, let month = digits(s, 5, 2),
            s[7] == 0x2D, let day = digits(s, 8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        if s.count == 10 { return epoch(year, month, day, 0, 0, 0) }
        guard s.count >= 16, s[10] == 0x54 || s[10] == 0x20, let hour = digits(s, 11, 2), s[13] == 0x3A,
            let minute = digits(s, 14, 2)
        else { return nil }
        var at = 16
        var second = 0
        if s.count >= 19 && s[16] == 0x3A {
            guard let sec = digits(s, 17, 2) else { return nil }
            second = sec
            at = 19
            if at < s.count && (s[at] == 0x2E || s[at] == 0x2C) {  // fraction: ignored
                at += 1
                while at < s.count && s[at] >= 48 && s[at] <= 57 { at += 1 }
            }
        }
        var offset: Int64 = 0
        if at < s.count {
            if s[at] == 0x5A && at + 1 == s.count {
                offset = 0
            } else if s.count - at == 6, let zone = zoneOffset(s, at, colon: true) {
                offset = zone
            } else if s.count - at == 5, let zone = zoneOffset(s, at, colon: false) {
                offset = zone
            } else {
                return nil
            }
        }
        return epoch(year, month, day, hour, minute, second) - offset
    }

    /// Parses an ISO 8601 string (for `--since`/`--until`).
    public static func parseISO8601(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { parseISO8601(UnsafeRawBufferPointer($0)) }
    }

    /// Seconds since the epoch of a proleptic Gregorian UTC date and time.
    public static func epoch(_ y: Int, _ m: Int, _ d: Int, _ hh: Int, _ mm: Int, _ ss: Int) -> Int64 {
        // Howard Hinnant's days_from_civil.
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = Int64(era) * 146097 + Int64(doe) - 719468
        return days * 86400 + Int64(hh * 3600 + mm * 60 + ss)
    }

    private static func digits(_ s: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> Int? {
        var value = 0
        for i in at..<(at + n) {
            let d = Int(s[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            value = value * 10 + d
        }
        return value
    }

    private static func zoneOffset(_ s: UnsafeRawBufferPointer, _ at: Int, colon: Bool) -> Int64? {
        let sign: Int64
        switch s[at] {
        case 0x2B: sign = 1
        case 0x2D: sign = -1
        default: return nil
        }
        guard let hours = digits(s, at + 1, 2) else { return nil }
        let minuteAt = colon ? at + 4 : at + 3
        if colon && s[at + 3] != 0x3A { return nil }
        guard let minutes = digits(s, minuteAt, 2) else { return nil }
        return sign * Int64(hours * 3600 + minutes * 60)
    }

    private static let months: [(UInt8, UInt8, UInt8)] = [
        (74, 97, 110), (70, 101, 98), (77, 97, 114), (65, 112, 114), (77, 97, 121), (74, 117, 110),
        (74, 117, 108), (65, 117, 103), (83, 101, 112), (79, 99, 116), (78, 111, 118), (68, 101, 99),
    ]

    private static func monthNumber(_ s: UnsafeRawBufferPointer, _ at: Int) -> Int? {
        let a = s[at], b = s[at + 1], c = s[at + 2]
        for (index, name) in months.enumerated() where name.0 == a && name.1 == b && name.2 == c {
            return index + 1
        }
        return nil
    }
}
