import CMemcached

// The pool's calls that hand libmemcached pointers: keys and values go in through
// `withUnsafe…` closures and nothing libmemcached returns outlives the call.
extension MemcachedPool {
    /// The server libmemcached's distribution picks for `key` (nil only for an empty pool).
    func server(forKey key: String) -> MemcachedServer? {
        var rc = MEMCACHED_SUCCESS
        let instance = key.utf8CString.withUnsafeBufferPointer { k in
            lib.memcached_server_by_key(handle, k.baseAddress, k.count - 1, &rc)
        }
        guard let instance, let name = lib.memcached_server_name(instance) else { return nil }
        return MemcachedServer(host: String(cString: name), port: Int(lib.memcached_server_port(instance)))
    }

    /// `add` (or `set` when `overwrite`) with `exptime` and `flags`.
    func store(key: String, value: [UInt8], exptime: Int, flags: UInt32, overwrite: Bool) -> StoreResult {
        let rc: memcached_return_t = key.utf8CString.withUnsafeBufferPointer { k in
            value.withUnsafeBufferPointer { v in
                v.withMemoryRebound(to: CChar.self) { v in
                    // An empty array's baseAddress may be nil; libmemcached accepts nil with length 0.
                    overwrite
                        ? lib.memcached_set(handle, k.baseAddress, k.count - 1, v.baseAddress, v.count, time_t(exptime), flags)
                        : lib.memcached_add(handle, k.baseAddress, k.count - 1, v.baseAddress, v.count, time_t(exptime), flags)
                }
            }
        }
        if rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED { return .stored }
        if rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS { return .present }
        return .failed(code: rc.rawValue, message: message(rc), nodeDown: Self.isNodeDown(rc))
    }

    /// Reads `keys` with one multi-get; keys not returned are absent (or on a node that failed,
    /// which `error` then says).
    func get(_ keys: [String]) -> (items: [String: Item], error: (code: UInt32, message: String, nodeDown: Bool)?) {
        guard !keys.isEmpty else { return ([:], nil) }
        // Every key in one buffer; the pointers into it live only inside the closure.
        var buffer: [CChar] = []
        var offsets: [Int] = []
        var lengths: [Int] = []
        for key in keys {
            offsets.append(buffer.count)
            lengths.append(key.utf8.count)
            buffer.append(contentsOf: key.utf8.map { CChar(bitPattern: $0) })
        }
        var items: [String: Item] = [:]
        var failure: (code: UInt32, message: String, nodeDown: Bool)?
        let rc: memcached_return_t = buffer.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return MEMCACHED_NOTFOUND }  // Safe: keys are never empty
            let pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }  // Safe: each offset < buffer.count
            return lib.memcached_mget(handle, pointers, lengths, keys.count)
        }
        if rc != MEMCACHED_SUCCESS {
            failure = (rc.rawValue, message(rc), Self.isNodeDown(rc) || rc == MEMCACHED_SOME_ERRORS)
            if rc != MEMCACHED_SOME_ERRORS { return (items, failure) }
        }
        var fetch = MEMCACHED_SUCCESS
        while let result = lib.memcached_fetch_result(handle, nil, &fetch) {
            defer { lib.memcached_result_free(result) }
            guard let keyPointer = lib.memcached_result_key_value(result) else { continue }
            let key = String(decoding: UnsafeRawBufferPointer(start: keyPointer, count: lib.memcached_result_key_length(result)), as: UTF8.self)
            let length = lib.memcached_result_length(result)
            let value = lib.memcached_result_value(result).map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
            items[key] = Item(value: value, flags: lib.memcached_result_flags(result))
        }
        if fetch != MEMCACHED_END && fetch != MEMCACHED_SUCCESS && fetch != MEMCACHED_NOTFOUND && failure == nil {
            failure = (fetch.rawValue, message(fetch), Self.isNodeDown(fetch))
        }
        return (items, failure)
    }
}
