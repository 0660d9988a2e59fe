import CMemcached

/// libmemcached's and libhashkit's functions, loaded at first use rather than linked (see
/// `CMemcached.h`): a run that never reaches memcached does not load them.
enum MemcachedLibrary {
    /// The functions, loaded the first time it is asked (later calls return the same table).
    /// - Throws: `MemcachedError` naming the library that cannot be loaded and the package to install.
    static func functions() throws(MemcachedError) -> warmset_memcached_api {
        var error: UnsafePointer<CChar>?
        guard let api = warmset_memcached_load(&error) else {
            throw MemcachedError("libmemcached", error.map { String(cString: $0) } ?? "cannot load it")
        }
        return api.pointee
    }
}
